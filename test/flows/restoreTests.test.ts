/**
 * Restore tests end to end (issue #17): the local Functions host over the ARM emulator and Azurite. orders-db
 * of the demo estate is protected and backed up; POST /api/restoreTests restores its recovery point into the
 * test container through the restore capability, the advance timer follows the restore, inspects each
 * restored pg_dump archive straight from the blob, and the test passes with the seed's tables and rows.
 */
import { TableClient } from "@azure/data-tables";
import { beforeAll, describe, expect, it } from "vitest";
import { trustEmulatorCertificate } from "../../dev/emulator/index.js";
import { emptySlice, PROVIDER_NAME } from "../../dev/emulator/providers/dataprotection/state.js";
import { runCliCaptured } from "../support/cli.js";
import { useAzurite } from "../support/azurite.js";
import { useEmulator } from "../support/emulator.js";
import { useLocalHost, waitFor } from "../support/localHost.js";
import {
  estateSettings,
  hostApi,
  protectOrdersDb,
  restoreEstate,
  SERVER,
  SERVER_ID,
  serverPath,
  TARGET,
  useDevTokens,
} from "../support/restoreEstate.js";

const azurite = useAzurite();
const emulator = useEmulator(() => restoreEstate(azurite.connectionString));
const dev = useDevTokens();

const host = useLocalHost(() => ({
  env: {
    ...estateSettings(azurite.connectionString, emulator.url),
    PGFLEX_MODE: "enforce",
    PGFLEX_AUTO_GRANT_ROLES: "false",
    PGFLEX_RESTORE_TARGETS: TARGET,
    PGFLEX_RESTORE_TEST_TARGET: TARGET,
    ...dev.auth.settings,
  },
  visibilityTimeoutInMs: 0,
  queuePollIntervalInMs: 100,
}));
const api = hostApi(() => host);

/** Runs the advance timer (and the restore tracker) until the test has a verdict. */
async function verdictOf(testId: string): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      await host.invoke("trackRestores");
      await host.invoke("advanceRestoreTests");
      const t = await api("GET", `restoreTests/${testId}`, dev.tokens.reader);
      expect(t.status, JSON.stringify(t.body)).toBe(200);
      return t.body["outcome"] === "Running" ? undefined : t.body;
    },
    `restore test ${testId} to reach a verdict`,
    { timeoutInMs: 120_000, intervalInMs: 250 },
  );
}

/** database → `schema.table` → rows, from a test's record. */
function rowsOf(test: Record<string, unknown>): Record<string, Record<string, number | undefined>> {
  const databases = test["databases"] as Array<{
    database: string;
    tables: Array<{ name: string; rows?: number }>;
  }>;
  return Object.fromEntries(
    databases.map((d) => [d.database, Object.fromEntries(d.tables.map((t) => [t.name, t.rows]))]),
  );
}

/** The server's recovery points, as the API lists them. */
async function recoveryPoints(): Promise<number> {
  const page = await api("GET", `${serverPath}/recoveryPoints`, dev.tokens.reader);
  return (page.body["value"] as unknown[] | undefined)?.length ?? 0;
}

/** A restore test of orders-db now, to its verdict. */
async function testNow(): Promise<Record<string, unknown>> {
  const run = await api("POST", "restoreTests", dev.tokens.restorer, { serverId: SERVER_ID });
  expect(run.status, JSON.stringify(run.body)).toBe(202);
  const started = (run.body["started"] as Array<Record<string, unknown>>)[0];
  expect(started, JSON.stringify(run.body)).toBeDefined();
  return verdictOf(String(started?.["testId"]));
}

/** The restore test alerts the app recorded (with no target configured, the `alerts` table holds them). */
async function restoreTestAlerts(): Promise<Array<Record<string, unknown>>> {
  const client = TableClient.fromConnectionString(azurite.connectionString, "alerts", {
    allowInsecureConnection: true,
  });
  const rows: Array<Record<string, unknown>> = [];
  for await (const e of client.listEntities<Record<string, unknown>>({
    queryOptions: { filter: "PartitionKey eq 'RestoreTestFailed'" },
  }))
    rows.push(e);
  return rows;
}

describe("restore tests through the emulator", () => {
  let firstBackupJob = "";
  beforeAll(async () => {
    await protectOrdersDb(emulator, host, async () => {
      const s = await api("GET", serverPath, dev.tokens.reader);
      return s.body["state"] === "Protected";
    });
    const backup = await api("POST", `${serverPath}/backups`, dev.tokens.operator, {
      reason: "restore test flow",
    });
    expect(backup.status, JSON.stringify(backup.body)).toBe(202);
    firstBackupJob = String(backup.body["jobId"]);
    await waitFor(
      async () => {
        const page = await api("GET", `${serverPath}/recoveryPoints`, dev.tokens.reader);
        return (page.body["value"] as unknown[] | undefined)?.length ? page : undefined;
      },
      "the backup's recovery point",
      { timeoutInMs: 60_000, intervalInMs: 200 },
    );
  }, 120_000);

  it("passes for orders-db and reports the seed's tables and rows, the outcome and the time to restore", async () => {
    const run = await api("POST", "restoreTests", dev.tokens.restorer, { serverId: SERVER_ID });
    expect(run.status, JSON.stringify(run.body)).toBe(202);
    expect(run.body["skipped"]).toEqual([]);
    const started = (run.body["started"] as Array<Record<string, unknown>>)[0] ?? {};
    expect(started).toMatchObject({ outcome: "Running", serverName: SERVER, restoreId: expect.any(String) });
    expect(started["statusUrl"]).toBe(`${host.url}/api/restoreTests/${String(started["testId"])}`);

    // A second request while it runs starts nothing, and says why.
    const again = await api("POST", "restoreTests", dev.tokens.restorer, { serverId: SERVER_ID });
    expect(again.body).toMatchObject({
      started: [],
      skipped: [{ serverId: SERVER_ID.toLowerCase(), reason: expect.stringContaining("is running") }],
    });

    const test = await verdictOf(String(started["testId"]));
    expect(test, JSON.stringify(test)).toMatchObject({
      outcome: "Passed",
      serverId: SERVER_ID.toLowerCase(),
    });
    expect(rowsOf(test)).toMatchObject({
      orders: { "public.customers": 3, "public.orders": 4 },
      billing: { "public.invoices": 2 },
    });
    expect(test["timeToRestoreInSeconds"]).toEqual(expect.any(Number));
    expect(test["restoreDurationInSeconds"]).toEqual(expect.any(Number));
    expect(test["missingFiles"]).toBeUndefined();

    const list = await api("GET", `restoreTests?server=${encodeURIComponent(SERVER_ID)}`, dev.tokens.reader);
    expect(list.status).toBe(200);
    expect((list.body["value"] as Array<Record<string, unknown>>).map((t) => t["testId"])).toEqual([
      started["testId"],
    ]);
  }, 180_000);

  it("the CLI tests orders-db again with --wait, prints its tables and rows, and lists both tests", async () => {
    trustEmulatorCertificate(emulator.caCert);
    const env = {
      ...estateSettings(azurite.connectionString, emulator.url),
      PGFLEX_RESTORE_TARGETS: TARGET,
      PGFLEX_RESTORE_TEST_TARGET: TARGET,
      ...dev.auth.settings,
    };
    const run = await runCliCaptured(["restore-test", SERVER, "--wait"], { env, pollIntervalInMs: 100 });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^Restore test \d{13}-[0-9a-f]{8} of orders-db: Passed, time to restore \d+s/m,
    );
    expect(run.stdout).toMatch(
      /Database orders .*\n {4}public\.customers {2}3 rows\n {4}public\.orders {2}4 rows/,
    );
    expect(run.stdout).toMatch(/Database billing .*\n {4}public\.invoices {2}2 rows/);

    const list = await runCliCaptured(["restore-tests", "--server", SERVER_ID], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.match(/ orders-db {2}Passed /g)).toHaveLength(2);
  }, 180_000);

  it("an emptied table in a later backup makes the next test Suspicious naming it, with exactly one alert; a further test stays Suspicious without a second", async () => {
    await emulator.pgdata.emptyTable(SERVER_ID, "orders", "orders");
    const pointsBefore = await recoveryPoints();
    // The poller records the first backup's end (and frees its running claim).
    await waitFor(
      async () => {
        await host.invoke("pollJobs");
        const job = await api("GET", `jobs/${firstBackupJob}`, dev.tokens.reader);
        return job.body["status"] === "Completed" ? job : undefined;
      },
      "the first backup to be recorded Completed",
      { timeoutInMs: 60_000, intervalInMs: 250 },
    );
    // One vaulted backup a week (the emulator fails a second): this is the server's second backup this week,
    // so the jobs so far are moved a week back in the emulator's state, as the emulator's own data-change test
    // does, and the app's weekly check is forced past. (The restores in between do not count: only backups do.)
    const jobs = emulator.core.context.state.slice(PROVIDER_NAME, emptySlice).jobs;
    for (const job of Object.values(jobs)) {
      job.startMs -= 7 * 86_400_000;
      job.endMs -= 7 * 86_400_000;
    }
    const backup = await api("POST", `${serverPath}/backups`, dev.tokens.operator, {
      reason: "after emptying a table",
      force: true,
    });
    expect(backup.status, JSON.stringify(backup.body)).toBe(202);
    await waitFor(
      async () => ((await recoveryPoints()) > pointsBefore ? true : undefined),
      "the new backup's recovery point",
      { timeoutInMs: 60_000, intervalInMs: 200 },
    );

    const suspicious = await testNow();
    expect(suspicious, JSON.stringify(suspicious)).toMatchObject({ outcome: "Suspicious" });
    expect(rowsOf(suspicious)).toMatchObject({ orders: { "public.customers": 3, "public.orders": 0 } });
    expect(suspicious["findings"]).toEqual([
      expect.objectContaining({
        kind: "RowsDropped",
        database: "orders",
        table: "public.orders",
        previousRows: 4,
        rows: 0,
      }),
    ]);
    expect(await restoreTestAlerts()).toHaveLength(1);
    expect((await restoreTestAlerts())[0]?.["message"]).toContain("public.orders");

    const again = await testNow();
    expect(again["outcome"]).toBe("Suspicious");
    expect(await restoreTestAlerts()).toHaveLength(1);
  }, 240_000);

  it("refuses to start tests without Backup.Restore, and names a bad server id", async () => {
    const denied = await api("POST", "restoreTests", dev.tokens.reader, {});
    expect(denied.status).toBe(403);
    const bad = await api("POST", "restoreTests", dev.tokens.restorer, { serverId: "orders-db" });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("serverId");
    const unknown = await api("GET", "restoreTests/nope", dev.tokens.reader);
    expect(unknown.status).toBe(400);
    expect(unknown.body["error"]).toMatchObject({ code: "InvalidTestId", target: "testId" });
  });
});
