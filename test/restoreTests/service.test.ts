import { describe, expect, it } from "vitest";
import { useAzurite } from "../support/azurite.js";
import { toArray } from "../support/asyncIterables.js";
import { serverId } from "../fixtures/jobs/stores.js";
import { aRestoreTestWorld } from "./world.js";
import type { RestoreTestRecord } from "../../src/lib/restoreTests/model.js";

const azurite = useAzurite();
const DAY = 86_400_000;
const ONE = serverId("pg-one");

/** Runs a test of pg-one to its verdict: start, the restore job ends, the advance judges it. */
async function testOnce(w: Awaited<ReturnType<typeof aRestoreTestWorld>>): Promise<RestoreTestRecord> {
  const run = await w.service.run({ serverId: ONE, requestedBy: "ops@example.com" });
  expect(run.skipped).toEqual([]);
  const started = run.started[0] as RestoreTestRecord;
  w.advance(40 * 60_000);
  w.finishJobs();
  expect(await w.service.advance()).toBe(1);
  return (await w.service.get(started.testId)) as RestoreTestRecord;
}

describe("restore tests", () => {
  it("pass for a restorable backup, with each database's tables and rows, the times and when the blobs go", async () => {
    const w = await aRestoreTestWorld(azurite.connectionString);
    const run = await w.service.run({ serverId: ONE, requestedBy: "ops@example.com" });
    expect(run.started).toHaveLength(1);
    expect(run.started[0]).toMatchObject({
      outcome: "Running",
      recoveryPointId: "ccc333",
      recoveryPointAgeInHours: 128,
      restoreId: expect.any(String),
      restoreJobId: expect.any(String),
    });
    // Still restoring: nothing judged.
    expect(await w.service.advance()).toBe(0);

    w.advance(40 * 60_000);
    w.finishJobs();
    expect(await w.service.advance()).toBe(1);
    const test = await w.service.get(run.started[0]?.testId ?? "");
    expect(test).toMatchObject({
      outcome: "Passed",
      restoreDurationInSeconds: 2400,
      timeToRestoreInSeconds: 2400,
    });
    expect(test?.findings).toBeUndefined();
    const byDb = Object.fromEntries(
      (test?.databases ?? []).map((d) => [
        d.database,
        Object.fromEntries(d.tables.map((t) => [t.name, t.rows])),
      ]),
    );
    expect(byDb).toEqual({
      billing: { "billing.invoices": 2 },
      orders: { "orders.customers": 3, "orders.orders": 4 },
    });
    expect(test?.cleanupAfter).toBe(new Date(w.now().getTime() + 24 * 3_600_000).toISOString());
    expect(w.alerter.raised).toEqual([]);
    const summaries = await toArray(w.service.summaries());
    expect(summaries).toEqual([
      expect.objectContaining({
        serverId: ONE,
        lastPassedAt: test?.endedAt,
        last: expect.objectContaining({
          testId: test?.testId,
          outcome: "Passed",
          timeToRestoreInSeconds: 2400,
        }),
      }),
    ]);

    // After the keep time the restored blobs are deleted, and the test says so.
    w.advance(23 * 3_600_000);
    await w.service.advance();
    expect(w.deleted).toEqual([]);
    w.advance(3_600_000);
    await w.service.advance();
    expect(w.deleted.filter((n) => n.includes("_database_")).sort()).toHaveLength(2);
    expect(w.deleted.some((n) => n.endsWith("_roles.sql"))).toBe(true);
    expect((await w.service.get(test?.testId ?? ""))?.cleanedUpAt).toBe(w.now().toISOString());
    await w.service.advance();
    expect(w.deleted).toHaveLength(5);
  });

  it("is Suspicious when a table empties, names it, alerts once, stays Suspicious without a second alert, and re-arms after a pass", async () => {
    const w = await aRestoreTestWorld(azurite.connectionString);
    const passed = await testOnce(w);
    expect(passed.outcome).toBe("Passed");

    w.setBackup({
      orders: { "orders.customers": 3, "orders.orders": 0 },
      billing: { "billing.invoices": 2 },
    });
    w.advance(DAY);
    const suspicious = await testOnce(w);
    expect(suspicious).toMatchObject({ outcome: "Suspicious", comparedWithTestId: passed.testId });
    expect(suspicious.findings).toEqual([
      expect.objectContaining({
        kind: "RowsDropped",
        database: "orders",
        table: "orders.orders",
        previousRows: 4,
        rows: 0,
      }),
    ]);
    expect(w.alerter.raised).toHaveLength(1);
    expect(w.alerter.raised[0]).toMatchObject({ kind: "RestoreTestFailed", serverId: ONE });
    expect(w.alerter.raised[0]?.message).toContain("orders.orders");

    w.advance(DAY);
    expect((await testOnce(w)).outcome).toBe("Suspicious");
    expect(w.alerter.raised).toHaveLength(1);

    // Data back: a pass; the next drop alerts again.
    w.setBackup({
      orders: { "orders.customers": 3, "orders.orders": 4 },
      billing: { "billing.invoices": 2 },
    });
    w.advance(DAY);
    expect((await testOnce(w)).outcome).toBe("Passed");
    w.setBackup({ orders: { "orders.customers": 3, "orders.orders": 4 } });
    w.advance(DAY);
    const missing = await testOnce(w);
    expect(missing.outcome).toBe("Suspicious");
    expect(missing.findings?.map((f) => f.kind)).toEqual(["DatabaseMissing"]);
    expect(w.alerter.raised).toHaveLength(2);
  });

  it("fails on a corrupt archive with the byte offset and a fix, and alerts", async () => {
    const w = await aRestoreTestWorld(azurite.connectionString);
    const good = (await import("./world.js")).anArchive("orders", { "orders.orders": 40 });
    w.setBackup({ orders: good.subarray(0, good.length - 30) });
    const test = await testOnce(w);
    expect(test.outcome).toBe("Failed");
    expect(test.reason).toMatch(/database orders .*unreadable: Archive (truncated|corrupt) at byte \d+/);
    expect(test.fix).toContain("restore-test pg-one");
    expect(test.databases?.[0]?.error).toMatch(/at byte \d+/);
    expect(w.alerter.raised).toHaveLength(1);
  });

  it("fails when the restore wrote no roles file, naming it", async () => {
    const w = await aRestoreTestWorld(azurite.connectionString);
    w.setBackup({ orders: { "orders.orders": 1 } }, ["schema", "tablespaces"]);
    const test = await testOnce(w);
    expect(test).toMatchObject({ outcome: "Failed", missingFiles: ["roles.sql"] });
    expect(test.reason).toContain("roles.sql");
  });

  it("fails when the restore job fails, with the vault's error", async () => {
    const w = await aRestoreTestWorld(azurite.connectionString);
    const run = await w.service.run({ serverId: ONE, requestedBy: "ops" });
    w.finishJobs("Failed");
    expect(await w.service.advance()).toBe(1);
    const test = await w.service.get(run.started[0]?.testId ?? "");
    expect(test?.outcome).toBe("Failed");
    expect(test?.reason).toContain("UserErrorRestoreFailed: the vault could not restore");
    expect(w.alerter.raised).toHaveLength(1);
  });

  it("reads large archives at the header level only: tables listed, no rows", async () => {
    const w = await aRestoreTestWorld(azurite.connectionString, ["pg-one"], { rowsMaxBytes: 100 });
    const test = await testOnce(w);
    expect(test.outcome).toBe("Passed");
    const orders = test.databases?.find((d) => d.database === "orders");
    expect(orders).toMatchObject({ level: "header" });
    expect(orders?.tables.map((t) => t.name)).toEqual(["orders.customers", "orders.orders"]);
    expect(orders?.tables.every((t) => t.rows === undefined)).toBe(true);
  });
});

describe("restore tests racing the advance", () => {
  it("start once when the advance adopts the test's restore before the start records it: started, with its recovery point, then Passed", async () => {
    const w = await aRestoreTestWorld(azurite.connectionString);
    // The advance timer fires while the start is between its restore and its own write of the test.
    const startRestore = w.azure.operations.startRestore.bind(w.azure.operations);
    let adopted = 0;
    w.azure.operations.startRestore = async (instance, target, options) => {
      const started = await startRestore(instance, target, options);
      await w.service.advance();
      adopted = (await w.store.listRunning()).filter((t) => t.restoreId).length;
      return started;
    };
    const run = await w.service.run({ serverId: ONE, requestedBy: "ops@example.com" });
    expect(adopted).toBe(1);
    expect(run.skipped).toEqual([]);
    expect(run.started).toHaveLength(1);
    const started = run.started[0] as RestoreTestRecord;
    expect(await w.service.get(started.testId)).toMatchObject({
      outcome: "Running",
      recoveryPointId: "ccc333",
      recoveryPointAgeInHours: 128,
      restoreId: started.restoreId,
    });
    w.advance(40 * 60_000);
    w.finishJobs();
    expect(await w.service.advance()).toBe(1);
    expect(await w.service.get(started.testId)).toMatchObject({
      outcome: "Passed",
      recoveryPointId: "ccc333",
    });
  });
});

describe("the restore test plan", () => {
  it("starts at most the concurrency, never-tested servers first, once per server a day, and duplicate runs start nothing more", async () => {
    const w = await aRestoreTestWorld(azurite.connectionString, ["pg-a", "pg-b", "pg-c"], { concurrency: 2 });
    const [first, again] = await Promise.all([
      w.service.run({ requestedBy: "schedule" }),
      w.service.run({ requestedBy: "schedule" }),
    ]);
    const started = [...first.started, ...again.started].map((t) => t.serverName).sort();
    expect(started).toHaveLength(2);
    expect(new Set(started).size).toBe(2);
    const third = await w.service.run({ requestedBy: "schedule" });
    expect(third.started).toEqual([]);
    expect(third.skipped).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: expect.stringContaining("PGFLEX_RESTORE_TEST_CONCURRENCY=2") }),
        expect.objectContaining({ reason: "A restore test of this server is running." }),
      ]),
    );

    // Both end; the same day only the untested server starts.
    w.advance(3_600_000);
    w.finishJobs();
    expect(await w.service.advance()).toBe(2);
    const later = await w.service.run({ requestedBy: "schedule" });
    expect(later.started.map((t) => t.serverName)).toEqual(
      ["pg-a", "pg-b", "pg-c"].filter((n) => !started.includes(n)),
    );
    expect(later.skipped.filter((s) => s.reason.startsWith("Tested today already"))).toHaveLength(2);
    expect((await w.restores.listPage()).items).toHaveLength(3);
  });
});
