import { describe, expect, it } from "vitest";
import { useAzurite } from "../support/azurite.js";
import { createStorageConnection } from "../../src/lib/store/connection.js";
import type { Config } from "../../src/lib/config/index.js";
import {
  createInMemoryServerStore,
  createServerStore,
  serverKeys,
  type ServerRecord,
  type ServerStore,
} from "../../src/lib/store/servers.js";
import { ConflictError } from "../../src/lib/errors.js";
import { parseServerId } from "../../src/lib/domain/serverId.js";
import { encodeKey } from "../../src/lib/store/keys.js";

const SUB = "11111111-1111-1111-1111-111111111111";
const ID = `/subscriptions/${SUB}/resourceGroups/RG-App/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-orders`;

function aRecord(overrides: Partial<ServerRecord> = {}): ServerRecord {
  const parts = parseServerId(ID)!;
  return { ...parts, state: "Pending", attempts: 0, updatedAt: "2026-11-25T10:00:00.000Z", ...overrides };
}

describe("parseServerId", () => {
  it("splits and lower-cases a flexible server id", () => {
    expect(parseServerId(ID)).toEqual({
      resourceId: ID.toLowerCase(),
      subscriptionId: SUB,
      resourceGroup: "rg-app",
      serverName: "pg-orders",
    });
  });

  it("rejects ids of other shapes", () => {
    expect(parseServerId(`${ID}/databases/db1`)).toBeUndefined();
    expect(parseServerId(ID.replace("pg-orders", "pg_orders"))).toBeUndefined();
    expect(parseServerId(ID.replace(SUB, "not-a-guid"))).toBeUndefined();
    expect(parseServerId("")).toBeUndefined();
  });

  it("keys rows by subscription and the encoded lower-cased id", () => {
    expect(serverKeys(ID)).toEqual({ partitionKey: SUB, rowKey: encodeKey(ID) });
  });
});

function contract(name: string, make: () => ServerStore) {
  describe(name, () => {
    it("creates, reads and updates a row guarded by its etag", async () => {
      const store = make();
      const created = await store.create(aRecord());
      expect(created.etag).toBeTruthy();

      const read = await store.get(ID.toUpperCase().replace("/SUBSCRIPTIONS", "/subscriptions"));
      expect(read).toMatchObject({ resourceId: ID.toLowerCase(), state: "Pending", attempts: 0 });

      const updated = await store.update({ ...read!, state: "Protected", vaultId: "v" });
      expect(updated.etag).not.toBe(read!.etag);
      expect(await store.get(ID)).toMatchObject({ state: "Protected", vaultId: "v" });
    });

    it("refuses a write with a stale etag", async () => {
      const store = make();
      const first = await store.create(aRecord());
      await store.update({ ...first, state: "Validating" });

      await expect(store.update({ ...first, state: "Protected" })).rejects.toBeInstanceOf(ConflictError);
      await expect(store.create(aRecord())).rejects.toBeInstanceOf(ConflictError);
    });

    it("removes fields that become undefined", async () => {
      const store = make();
      const first = await store.create(aRecord({ lastErrorCode: "X", lastErrorMessage: "m" }));
      const { lastErrorCode: _c, lastErrorMessage: _m, ...rest } = first;
      await store.update(rest as ServerRecord);
      const read = await store.get(ID);
      expect(read?.lastErrorCode).toBeUndefined();
      expect(read?.lastErrorMessage).toBeUndefined();
    });

    it("keeps columns it does not know through a read and an update", async () => {
      const store = make();
      await store.create({ ...aRecord(), complianceNote: "ok" } as ServerRecord);
      const read = await store.get(ID);
      await store.update({ ...read!, state: "Protected" });
      expect(await store.get(ID)).toMatchObject({ state: "Protected", complianceNote: "ok" });
    });

    it("purges Deleted rows last written before the cutoff and keeps the rest", async () => {
      const store = make();
      const at = (name: string) => ({ ...parseServerId(ID.replace("pg-orders", name))! });
      await store.create(
        aRecord({ ...at("pg-old"), state: "Deleted", updatedAt: "2026-08-01T00:00:00.000Z" }),
      );
      await store.create(
        aRecord({ ...at("pg-recent"), state: "Deleted", updatedAt: "2026-11-20T00:00:00.000Z" }),
      );
      await store.create(
        aRecord({ ...at("pg-live"), state: "Protected", updatedAt: "2026-08-01T00:00:00.000Z" }),
      );

      const removed = await store.deleteDeletedBefore(new Date("2026-09-01T00:00:00.000Z"));

      expect(removed).toEqual([at("pg-old").resourceId]);
      const left: string[] = [];
      for await (const r of store.list()) left.push(`${r.serverName}:${r.state}`);
      expect(left.sort()).toEqual(["pg-live:Protected", "pg-recent:Deleted"]);
    });

    it("deletes a row only with the etag read, and a row already gone is no error", async () => {
      const store = make();
      const first = await store.create(aRecord());
      const second = await store.update({ ...first, state: "Validating" });

      await expect(store.delete(first)).rejects.toBeInstanceOf(ConflictError);
      expect(await store.get(ID)).toMatchObject({ state: "Validating" });
      await store.delete(second);
      expect(await store.get(ID)).toBeUndefined();
      await expect(store.delete(second)).resolves.toBeUndefined();
    });

    it("lists rows by subscription and state", async () => {
      const store = make();
      await store.create(aRecord());
      const other = ID.replace("pg-orders", "pg-billing");
      await store.create({ ...aRecord(), ...parseServerId(other)!, state: "Protected" });

      const protectedRows: string[] = [];
      for await (const r of store.list({ subscriptionId: SUB, state: "Protected" }))
        protectedRows.push(r.serverName);
      const all: string[] = [];
      for await (const r of store.list()) all.push(r.serverName);

      expect(protectedRows).toEqual(["pg-billing"]);
      expect(all.sort()).toEqual(["pg-billing", "pg-orders"]);
    });
  });
}

contract("in-memory server store", () => createInMemoryServerStore());

describe("table server store (Azurite)", () => {
  const azurite = useAzurite();
  let n = 0;
  contract("servers table", () => {
    const connection = createStorageConnection({ storageConnection: azurite.connectionString } as Config);
    // A table per test keeps tests independent on one Azurite.
    return createServerStore(connection, {
      tableClient: connection.tableClient(`servers${++n}x${Date.now() % 100000}`),
    });
  });
});
