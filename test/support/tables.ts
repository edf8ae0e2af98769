import { randomBytes } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import type { StorageConnection } from "../../src/lib/store/connection.js";

/** The app's tables at `connectionString` under their own names (the host's view), without queues. */
export function tablesAt(connectionString: string): StorageConnection {
  return {
    tableClient: (name) =>
      TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: true }),
    queueClient: () => {
      throw new Error("unused");
    },
  };
}

/** Tables at `connectionString` of their own (a unique name prefix per call), without queues. */
export function privateTablesAt(connectionString: string): StorageConnection {
  const prefix = `t${randomBytes(5).toString("hex")}`;
  return {
    tableClient: (name) =>
      TableClient.fromConnectionString(connectionString, `${prefix}${name}`, {
        allowInsecureConnection: true,
      }),
    queueClient: () => {
      throw new Error("queues are not used here");
    },
  };
}
