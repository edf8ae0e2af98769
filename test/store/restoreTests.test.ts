import { randomBytes } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { ConflictError } from "../../src/lib/errors.js";
import { createRestoreTestStore } from "../../src/lib/store/restoreTests.js";
import { InvalidContinuationTokenError, encodePageToken } from "../../src/lib/util/pageToken.js";
import { useAzurite } from "../support/azurite.js";

const azurite = useAzurite();
const SERVER =
  "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-db/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-one";

function aStore() {
  const client = TableClient.fromConnectionString(
    azurite.connectionString,
    `restoreTests${randomBytes(4).toString("hex")}`,
    { allowInsecureConnection: true },
  );
  return {
    client,
    store: createRestoreTestStore(
      {
        tableClient: () => client,
        queueClient: () => {
          throw new Error("unused");
        },
      },
      { tableClient: client },
    ),
  };
}

const aTest = { serverId: SERVER, serverName: "pg-one", requestedBy: "schedule" };
const at = (iso: string) => new Date(iso);

describe("restore test store", () => {
  it("lets exactly one of many concurrent claims of a server through; the others see its running test", async () => {
    const { store } = aStore();
    const claims = await Promise.all(
      Array.from({ length: 6 }, () => store.claim(aTest, at("2026-11-20T10:00:00Z"), { oncePerDay: true })),
    );
    const created = claims.filter((c) => c.created);
    expect(created).toHaveLength(1);
    expect(claims.filter((c) => !c.created).every((c) => !c.created && c.reason !== "TestedToday")).toBe(
      true,
    );
    expect(await store.listRunning()).toHaveLength(1);
  });

  it("refuses a second scheduled test the same day once the first ended, but lets a person test again", async () => {
    const { store } = aStore();
    const first = await store.claim(aTest, at("2026-11-20T10:00:00Z"), { oncePerDay: true });
    if (!first.created) throw new Error("not created");
    await store.update(
      { ...first.record, outcome: "Passed", endedAt: "2026-11-20T10:30:00Z" },
      at("2026-11-20T10:30:00Z"),
    );
    const again = await store.claim(aTest, at("2026-11-20T20:00:00Z"), { oncePerDay: true });
    expect(again).toMatchObject({
      created: false,
      reason: "TestedToday",
      existing: { testId: first.record.testId },
    });
    expect((await store.claim(aTest, at("2026-11-20T20:00:00Z"))).created).toBe(true);
    const summaries = [];
    for await (const s of store.summaries()) summaries.push(s);
    expect(summaries).toEqual([
      expect.objectContaining({
        serverId: SERVER.toLowerCase(),
        lastPassedAt: "2026-11-20T10:30:00Z",
        last: expect.objectContaining({ testId: first.record.testId, outcome: "Passed" }),
      }),
    ]);
  });

  it("takes over a claim whose test row was never written, after 15 minutes, not before", async () => {
    const { store, client } = aStore();
    const first = await store.claim(aTest, at("2026-11-20T10:00:00Z"));
    if (!first.created) throw new Error("not created");
    // A crash between the claim and the test row: the row is gone.
    await client.deleteEntity("test", first.record.testId);
    expect(await store.claim(aTest, at("2026-11-20T10:10:00Z"))).toMatchObject({
      created: false,
      reason: "Running",
    });
    expect((await store.claim(aTest, at("2026-11-20T10:16:00Z"))).created).toBe(true);
  });

  it("guards updates with the ETag read, and keeps a large result whole", async () => {
    const { store } = aStore();
    const claim = await store.claim(aTest, at("2026-11-20T10:00:00Z"));
    if (!claim.created) throw new Error("not created");
    const tables = Array.from({ length: 2000 }, (_, i) => ({
      name: `public.table_with_a_long_name_${i}`,
      rows: i,
    }));
    const databases = [
      { database: "big", blobName: "g_database_big.sql", archiveBytes: 1, level: "rows" as const, tables },
    ];
    const saved = await store.update({ ...claim.record, databases }, at("2026-11-20T10:05:00Z"));
    expect((await store.get(saved.testId))?.databases?.[0]?.tables).toHaveLength(2000);
    await expect(
      store.update({ ...claim.record, outcome: "Failed" }, at("2026-11-20T10:06:00Z")),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it("pages newest first with its own tokens, and refuses another table's", async () => {
    const { store } = aStore();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await store.claim({ ...aTest, serverId: `${SERVER}${i}` }, at(`2026-11-2${i}T10:00:00Z`));
      if (c.created) ids.push(c.record.testId);
    }
    const first = await store.listPage({ top: 2 });
    expect(first.items.map((t) => t.testId)).toEqual([ids[2], ids[1]]);
    const second = await store.listPage({ top: 2, continuationToken: first.continuationToken ?? "" });
    expect(second.items.map((t) => t.testId)).toEqual([ids[0]]);
    expect(second.continuationToken).toBeUndefined();
    await expect(
      store.listPage({ continuationToken: encodePageToken({ partitionKey: "server", rowKey: "x" }) }),
    ).rejects.toBeInstanceOf(InvalidContinuationTokenError);
  });
});
