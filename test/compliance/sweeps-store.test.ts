import { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import type { SweepRow } from "../../src/lib/store/sweeps.js";
import { ConflictError } from "../../src/lib/errors.js";
import {
  createInMemorySweepStore,
  createSweepStore,
  newSweepId,
  sweepRowKey,
  sweepStartFromId,
} from "../../src/lib/store/sweeps.js";
import { useAzurite } from "../support/azurite.js";
import { aSweepSummary, SUB_A, SUB_B, serverIdOf } from "../fixtures/compliance/estate.js";

const azurite = useAzurite();

function tables(suffix: string) {
  const opts = { allowInsecureConnection: true };
  return {
    summaries: TableClient.fromConnectionString(azurite.connectionString, `sweeps${suffix}`, opts),
    rows: TableClient.fromConnectionString(azurite.connectionString, `sweepRows${suffix}`, opts),
  };
}

function rows(n: number): SweepRow[] {
  return Array.from({ length: n }, (_, i) => ({
    serverId: serverIdOf(`pg-${String(i).padStart(5, "0")}`),
    subscriptionId: SUB_A,
    location: "westeurope",
    class: i % 2 ? "Protected" : "TaggedUnprotected",
    reason: `reason ${i}`,
    fix: "",
  }));
}

describe("sweep store", () => {
  it("builds sweep ids that carry their start time and sort newest first", () => {
    const older = newSweepId(new Date("2026-11-24T03:00:00Z"), "aaaa");
    const newer = newSweepId(new Date("2026-11-25T03:00:00Z"), "bbbb");
    expect(newer).toBe("20261125T030000000Z-bbbb");
    expect(sweepStartFromId("20261125T030000Z-old1")?.toISOString()).toBe("2026-11-25T03:00:00.000Z");
    expect(sweepRowKey(newer) < sweepRowKey(older)).toBe(true);
    expect(() => sweepRowKey("nope")).toThrow('"nope" is not a sweep id.');
  });

  it("writes rows in transactions of 100 (10,000 rows: 100 requests), all readable back", async () => {
    const store = createSweepStore(undefined, tables("big"));
    const id = newSweepId(new Date("2026-11-25T03:00:00Z"), "big1");
    await store.createSweep(aSweepSummary(id));
    const before = store.requestCount;
    // 2,500 keeps the suite fast on Azurite; the arithmetic is the same for 10,000 (100 batches).
    expect(await store.writeRows(id, rows(2_500))).toBe(25);
    await store.updateSweep({ ...(await store.getSweep(id))!, status: "Complete" });
    expect(store.requestCount - before).toBe(28); // rows table ensured once + 25 batches + get + update
    const read = new Map<string, string>();
    for await (const r of store.listRows(id, { select: ["serverId", "class"] }))
      read.set(r.serverId, r.class);
    expect(read.size).toBe(2_500);
    expect(read.get(serverIdOf("pg-00000"))).toBe("TaggedUnprotected");
    expect(read.get(serverIdOf("pg-02499"))).toBe("Protected");
  });

  it("writes each subscription's rows in its own partition, so transactions go side by side, and reads them all back", async () => {
    const t = tables("parts");
    const store = createSweepStore(undefined, t);
    const id = newSweepId(new Date("2026-11-25T03:00:00Z"), "parts1");
    await store.createSweep(aSweepSummary(id, { subscriptionIds: [SUB_A, SUB_B] }));
    const inB = rows(120).map((r) => ({
      ...r,
      serverId: r.serverId.replace(SUB_A, SUB_B),
      subscriptionId: SUB_B,
    }));
    // 150 rows of A (2 transactions) and 120 of B (2): a transaction never mixes partitions.
    expect(await store.writeRows(id, [...rows(150), ...inB])).toBe(4);

    const partitions = new Map<string, number>();
    for await (const e of t.rows.listEntities({ queryOptions: { select: ["PartitionKey"] } }))
      partitions.set(String(e.partitionKey), (partitions.get(String(e.partitionKey)) ?? 0) + 1);
    expect(partitions).toEqual(
      new Map([
        [`${id}_${SUB_A}`, 150],
        [`${id}_${SUB_B}`, 120],
      ]),
    );
    let all = 0;
    for await (const _ of store.listRows(id)) all++;
    expect(all).toBe(270);
    const onlyB = [];
    for await (const r of store.listRows(id, { subscriptionId: SUB_B })) onlyB.push(r.subscriptionId);
    expect(onlyB).toEqual(Array(120).fill(SUB_B));
    const paged = [];
    let token: string | undefined;
    do {
      const page = await store.listRowsPage(id, { top: 100, ...(token ? { continuationToken: token } : {}) });
      paged.push(...page.rows);
      token = page.continuationToken;
    } while (token);
    expect(new Set(paged.map((r) => r.serverId)).size).toBe(270);
  });

  it("still reads and removes the rows of a sweep written in one partition (before rows were per subscription)", async () => {
    const t = tables("legacy");
    const store = createSweepStore(undefined, t);
    const old = newSweepId(new Date("2026-08-01T03:00:00Z"), "legacy1");
    const id = newSweepId(new Date("2026-11-25T03:00:00Z"), "legacy2");
    await store.createSweep(aSweepSummary(old, { startedAt: "2026-08-01T03:00:00.000Z" }));
    await store.createSweep(aSweepSummary(id));
    await t.rows.createTable();
    for (const r of rows(3))
      await t.rows.createEntity({
        partitionKey: old,
        rowKey: Buffer.from(r.serverId.toLowerCase()).toString("base64url"),
        ...r,
      });
    const read = [];
    for await (const r of store.listRows(old, { subscriptionId: SUB_A })) read.push(r.serverId);
    expect(read).toHaveLength(3);
    expect((await store.listRowsPage(old, { top: 2 })).rows).toHaveLength(2);

    expect(await store.deleteSweepsStartedBefore(new Date("2026-09-01T00:00:00Z"))).toEqual([old]);
    let left = 0;
    for await (const _ of t.rows.listEntities()) left++;
    expect(left).toBe(0);
  });

  it("records a sweep whose failures name 500 subscriptions: long targets are cut and the list fits the summary", async () => {
    const store = createSweepStore(undefined, tables("longfail"));
    const id = newSweepId(new Date("2026-11-25T03:00:00Z"), "long1");
    const created = await store.createSweep(aSweepSummary(id));
    const subs = Array.from(
      { length: 500 },
      (_, i) => `${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`,
    );
    const failure = {
      scope: "subscription" as const,
      target: subs.join(","),
      code: "HTTP429",
      message: "Too many requests.",
    };
    const updated = await store.updateSweep({
      ...created,
      status: "Incomplete",
      failureCount: 3,
      failures: [failure, failure, failure],
    });
    const read = await store.getSweep(id);
    expect(read?.status).toBe("Incomplete");
    expect(read?.failureCount).toBe(3);
    expect(read?.failures).toHaveLength(3);
    expect(read?.failures[0]?.target).toMatch(/^0{8}-0000-4000-8000-0{12},.*… \(\d+ more characters\)$/);
    expect(updated.etag).toBeDefined();
  });

  it("replaces the rows of a redone unit: a batch that finds its rows already there is written again as upserts", async () => {
    const store = createSweepStore(undefined, tables("redo"));
    const id = newSweepId(new Date("2026-11-25T03:00:00Z"), "redo1");
    await store.createSweep(aSweepSummary(id));
    expect(await store.writeRows(id, rows(150))).toBe(2);

    const redone = rows(150).map((r) => ({ ...r, class: "WrongPolicy" as const, reason: "redone" }));
    // Each of the two batches is refused (rows exist), then upserted.
    expect(await store.writeRows(id, redone)).toBe(4);

    const read = [];
    for await (const r of store.listRows(id)) read.push(r);
    expect(read).toHaveLength(150);
    expect(new Set(read.map((r) => `${r.class}: ${r.reason}`))).toEqual(new Set(["WrongPolicy: redone"]));
  });

  it("keeps the RestoreUntested signal: the row's flag and last pass, the summary's count and note", async () => {
    const store = createSweepStore(undefined, tables("untested"));
    const id = newSweepId(new Date("2026-11-25T03:00:00Z"), "rt1");
    const restoreTests = { enabled: true, maxAgeDays: 35, untested: 1, note: "one note" };
    await store.createSweep(aSweepSummary(id, { restoreTests }));
    const [flagged, fine] = rows(2);
    await store.writeRows(id, [
      { ...flagged!, restoreUntested: true, lastRestoreTestPassedAt: "2026-10-16T02:00:00.000Z" },
      fine!,
    ]);
    expect((await store.getSweep(id))?.restoreTests).toEqual(restoreTests);
    const page = await store.listRowsPage(id);
    expect(page.rows.map((r) => [r.restoreUntested, r.lastRestoreTestPassedAt])).toEqual([
      [true, "2026-10-16T02:00:00.000Z"],
      [undefined, undefined],
    ]);
  });

  it("guards summary updates with the etag read and lists newest first", async () => {
    const store = createSweepStore(undefined, tables("etag"));
    const a = await store.createSweep(aSweepSummary(newSweepId(new Date("2026-11-24T03:00:00Z"), "a1")));
    const b = await store.createSweep(aSweepSummary(newSweepId(new Date("2026-11-25T03:00:00Z"), "b1")));
    await store.updateSweep({ ...a, status: "Complete" });
    await expect(store.updateSweep({ ...a, status: "Incomplete" })).rejects.toBeInstanceOf(ConflictError);
    expect((await store.listSweeps({ top: 5 })).map((s) => [s.id, s.status])).toEqual([
      [b.id, "Running"],
      [a.id, "Complete"],
    ]);
    expect(await store.getSweep("20200101T000000Z-none")).toBeUndefined();
  });

  it("keeps scope results per unit, replacing a redone unit", async () => {
    const store = createSweepStore(undefined, tables("scopes"));
    const id = newSweepId(new Date("2026-11-25T03:00:00Z"), "s1");
    const result = {
      unit: SUB_A,
      total: 1,
      counts: { Protected: 1 },
      remediation: { enqueued: 0, wouldEnqueue: 0, failed: 0 },
      failureCount: 0,
      failures: [],
      diff: aSweepSummary(id).diff,
      armRequests: 3,
      finishedAt: "2026-11-25T03:01:00.000Z",
    };
    await store.putScopeResult(id, result);
    await store.putScopeResult(id, { ...result, total: 2 });
    expect(await store.listScopeResults(id)).toEqual([{ ...result, total: 2 }]);
  });
});

describe("sweep vault inventory parts", () => {
  // 4,000 instances of ~150 characters: 600 KB of JSON, far past one 64 KiB property and one 1 MiB entity.
  const instances = Array.from({ length: 4_000 }, (_, i) => ({
    id: `${serverIdOf(`pg-${String(i).padStart(5, "0")}`)}/backupinstances/bi-${i}`,
    lastSuccessfulBackupAt: "2026-11-24T02:00:00.000Z",
    note: i === 7 ? "café ☕ \u{1F600}" : undefined,
  }));

  it("stores a large part in chunks within Table limits and reads each part back whole", async () => {
    const { summaries, rows: rowsTable } = tables("parts");
    const store = createSweepStore(undefined, { summaries, rows: rowsTable });
    const id = newSweepId(new Date("2026-11-25T03:00:00Z"), "parts1");
    await store.putVaultParts(id, { vaults: { vaultDiscoveryComplete: true }, [`ds-${SUB_A}`]: instances });
    expect(await store.getVaultPart(id, `ds-${SUB_A}`)).toEqual(JSON.parse(JSON.stringify(instances)));
    expect(await store.getVaultPart(id, "vaults")).toEqual({ vaultDiscoveryComplete: true });
    expect(await store.getVaultPart(id, "ds-other")).toBeUndefined();
    let chunks = 0;
    for await (const e of summaries.listEntities<{ data: string }>({
      queryOptions: { filter: `PartitionKey eq 'vaults-${id}'` },
    })) {
      chunks++;
      expect(e.data.length).toBeLessThanOrEqual(30_000);
    }
    expect(chunks).toBeGreaterThan(20);
  });

  it("refuses a part whose chunks are missing rather than reading it short", async () => {
    const { summaries, rows: rowsTable } = tables("torn");
    const store = createSweepStore(undefined, { summaries, rows: rowsTable });
    const id = newSweepId(new Date("2026-11-25T03:00:00Z"), "torn1");
    await store.putVaultParts(id, { "ds-a": instances });
    await summaries.deleteEntity(`vaults-${id}`, "ds-a-00001");
    await expect(store.getVaultPart(id, "ds-a")).rejects.toThrow(
      /^Vault inventory part ds-a of sweep 20261125T030000000Z-torn1 is incomplete \(\d+ of \d+ chunks\)\.$/,
    );
  });
});

describe.each([
  ["Tables", () => createSweepStore(undefined, tables(`ret${Math.random().toString(36).slice(2, 8)}`))],
  ["in memory", () => createInMemorySweepStore()],
] as const)("sweep retention (%s)", (_kind, aStore) => {
  it("removes sweeps that started before the cutoff with their rows and scope results", async () => {
    const store = aStore();
    const ids = ["2026-08-01T03:00:00Z", "2026-08-20T03:00:00Z", "2026-11-24T03:00:00Z"].map((t, n) =>
      newSweepId(new Date(t), `ret${n}`),
    );
    for (const id of ids) {
      await store.createSweep(aSweepSummary(id, { startedAt: sweepStartFromId(id)?.toISOString() ?? "" }));
      await store.writeRows(id, rows(3));
      await store.putVaultParts(id, { vaults: { n: 1 } });
      await store.putScopeResult(id, {
        unit: "all",
        total: 3,
        counts: {},
        remediation: { enqueued: 0, wouldEnqueue: 0, failed: 0 },
        failureCount: 0,
        failures: [],
        diff: aSweepSummary(id).diff,
        armRequests: 1,
        finishedAt: "2026-11-25T03:01:00.000Z",
      });
    }

    const removed = await store.deleteSweepsStartedBefore(new Date("2026-08-27T00:00:00Z"));

    expect(removed.sort()).toEqual([ids[0], ids[1]]);
    expect((await store.listSweeps()).map((x) => x.id)).toEqual([ids[2]]);
    for (const id of [ids[0], ids[1]]) {
      expect(await store.getSweep(id ?? "")).toBeUndefined();
      expect((await store.listRowsPage(id ?? "")).rows).toEqual([]);
      expect(await store.listScopeResults(id ?? "")).toEqual([]);
      expect(await store.getVaultPart(id ?? "", "vaults")).toBeUndefined();
    }
    expect(await store.getVaultPart(ids[2] ?? "", "vaults")).toEqual({ n: 1 });
    expect((await store.listRowsPage(ids[2] ?? "")).rows).toHaveLength(3);
  });

  it("keeps the newest sweep even when it is older than the cutoff", async () => {
    const store = aStore();
    const id = newSweepId(new Date("2026-01-01T03:00:00Z"), "only");
    await store.createSweep(aSweepSummary(id));
    await store.writeRows(id, rows(2));
    expect(await store.deleteSweepsStartedBefore(new Date("2026-11-01T00:00:00Z"))).toEqual([]);
    expect((await store.listRowsPage(id)).rows).toHaveLength(2);
  });
});
