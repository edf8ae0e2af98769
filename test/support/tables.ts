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
