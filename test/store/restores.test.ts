import { describe, expect, it } from "vitest";
import { TableClient } from "@azure/data-tables";
import { randomBytes } from "node:crypto";
import { useAzurite } from "../support/azurite.js";
import { createRestoreStore, type NewRestore } from "../../src/lib/store/restores.js";
import { InvalidContinuationTokenError, encodePageToken } from "../../src/lib/util/pageToken.js";

const azurite = useAzurite();

function aStore() {
  const name = `restores${randomBytes(4).toString("hex")}`;
  return createRestoreStore({
    tableClient: () =>
      TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true }),
    queueClient: () => {
      throw new Error("unused");
    },
  });
}

const aRestore = (point = "rp1"): NewRestore => ({
  serverId: "/subscriptions/s/resourceGroups/RG/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-one",
  serverName: "pg-one",
  vaultId: "/subscriptions/s/resourcegroups/rg/providers/microsoft.dataprotection/backupvaults/v",
  instanceName: "pg-one-inst",
  recoveryPointId: point,
  recoveryPointTime: "2026-11-15T02:00:00Z",
  targetContainerId:
    "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c",
  containerUrl: "https://a.blob.core.windows.net/c",
});

describe("restore store", () => {
  it("lets exactly one of many concurrent claims of a server and point through; the others get its restore", async () => {
    const store = aStore();
    const now = new Date("2026-11-20T10:00:00Z");
    const claims = await Promise.all(Array.from({ length: 6 }, () => store.claim(aRestore(), now)));
    const created = claims.filter((c) => c.created);
    expect(created).toHaveLength(1);
    const id = created[0]?.created ? created[0].record.restoreId : "";
    for (const c of claims) if (!c.created) expect(c.existing.restoreId).toBe(id);
    // Another point of the same server is its own restore.
    expect((await store.claim(aRestore("rp2"), now)).created).toBe(true);
  });

  it("lists newest first in pages and refuses a token of another list", async () => {
    const store = aStore();
    for (let i = 0; i < 3; i++)
      await store.claim(aRestore(`rp${i}`), new Date(Date.UTC(2026, 10, 20, 10, i)));
    const first = await store.listPage({ top: 2 });
    expect(first.items.map((r) => r.recoveryPointId)).toEqual(["rp2", "rp1"]);
    const second = await store.listPage({ top: 2, continuationToken: first.continuationToken ?? "" });
    expect(second.items.map((r) => r.recoveryPointId)).toEqual(["rp0"]);
    await expect(
      store.listPage({ continuationToken: encodePageToken({ partitionKey: "claim", rowKey: "x" }) }),
    ).rejects.toBeInstanceOf(InvalidContinuationTokenError);
  });
});
