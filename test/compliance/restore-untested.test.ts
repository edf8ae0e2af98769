import { describe, expect, it } from "vitest";
import { createAuthorizer } from "../../src/lib/auth/authorize.js";
import { createTokenValidator } from "../../src/lib/auth/tokens.js";
import { createSweepsApi } from "../../src/lib/compliance/api.js";
import {
  createSweeper,
  sweepConfigFrom,
  type ServerRecordLike,
  type SweepConfig,
  type SweepScopeMessage,
} from "../../src/lib/compliance/sweeper.js";
import { loadConfig } from "../../src/lib/config/index.js";
import { allSettings } from "../../src/lib/config/settings.js";
import type { ServerRestoreTestSummary } from "../../src/lib/restoreTests/model.js";
import { createInMemorySweepStore } from "../../src/lib/store/sweeps.js";
import {
  DAY,
  NOW,
  SUB_A,
  SUB_B,
  aServer,
  aSweepConfig,
  anInstance,
  serverIdOf,
} from "../fixtures/compliance/estate.js";
import { createFakeInventory, defaultVaults, type FakeEstate } from "../fixtures/compliance/fakes.js";
import { aRequest } from "../fixtures/jobs/requests.js";
import { AUDIENCE, TENANT, aKeySet } from "../fixtures/jobs/tokens.js";
import { aFakeReader } from "../restoreTests/fakeReader.js";

const config = aSweepConfig({ restoreTestsEnabled: true, restoreTestMaxAgeDays: 35 });

const daysAgo = (n: number) => new Date(NOW.getTime() - n * DAY).toISOString();

/** Protected servers tested 40 and 10 days ago and never; one tagged server with no backup at all. */
function anEstate(): FakeEstate {
  const servers = ["pg-tested-40", "pg-tested-10", "pg-never", "pg-new"].map((name) => aServer({ name }));
  return {
    servers: [...servers, aServer({ name: "pg-unprotected" })],
    vaults: defaultVaults(),
    instances: servers.map((s) => anInstance(s)),
  };
}

const summaryOf = (name: string, lastPassedAt?: string): ServerRestoreTestSummary => ({
  serverId: serverIdOf(name),
  serverName: name,
  ...(lastPassedAt
    ? {
        last: { testId: `t-${name}`, outcome: "Passed", startedAt: lastPassedAt },
        lastPassedAt,
      }
    : {}),
});

const summaries = [summaryOf("pg-tested-40", daysAgo(40)), summaryOf("pg-tested-10", daysAgo(10))];

function setup(
  overrides: Partial<SweepConfig> = {},
  reader = aFakeReader(summaries),
  records: ServerRecordLike[] = [],
) {
  const store = createInMemorySweepStore();
  const enqueued: string[] = [];
  const queue: SweepScopeMessage[] = [];
  const sweeper = createSweeper({
    inventory: createFakeInventory(anEstate(), [SUB_A, SUB_B]),
    store,
    config: { ...config, ...overrides },
    enqueueProtection: async (r) => void enqueued.push(r.serverId),
    scopeQueue: { send: async (m) => void queue.push(m) },
    listServerRecords: async function* () {
      yield* records;
    },
    restoreTests: reader,
    now: () => NOW,
    newId: () => "abcd1234",
  });
  return { sweeper, store, enqueued, queue, reader };
}

const flagged = (rows: Array<{ serverId: string; restoreUntested?: boolean }>) =>
  rows.filter((r) => r.restoreUntested).map((r) => r.serverId.split("/").pop());

describe("sweep: RestoreUntested", () => {
  it("flags a protected server whose last passed restore test is 40 days old, or that never passed one, not one tested 10 days ago", async () => {
    const { sweeper, enqueued } = setup();
    const { summary, rows } = await sweeper.runSweep();
    expect(flagged(rows)).toEqual(["pg-tested-40", "pg-never", "pg-new"]);
    expect(rows.find((r) => r.serverId === serverIdOf("pg-tested-40"))).toMatchObject({
      class: "Protected",
      restoreUntested: true,
      lastRestoreTestPassedAt: daysAgo(40),
    });
    expect(rows.find((r) => r.serverId === serverIdOf("pg-never"))?.lastRestoreTestPassedAt).toBeUndefined();
    expect(summary.restoreTests).toEqual({ enabled: true, maxAgeDays: 35, untested: 3 });
    // A separate signal: the classes, the percentage and the remediation are what they were without it.
    expect(summary.counts).toEqual({ Protected: 4, TaggedUnprotected: 1 });
    expect(summary.compliancePercent).toBe(80);
    expect(enqueued).toEqual([serverIdOf("pg-unprotected")]);
    expect(summary.status).toBe("Complete");
  });

  it("gives a server the worker protected less than the maximum age ago time for its first test", async () => {
    const { sweeper } = setup({}, aFakeReader(summaries), [
      { resourceId: serverIdOf("pg-new"), state: "Protected", protectedAt: daysAgo(5) },
      { resourceId: serverIdOf("pg-never"), state: "Protected", protectedAt: daysAgo(50) },
    ]);
    const { rows } = await sweeper.runSweep();
    expect(flagged(rows)).toEqual(["pg-tested-40", "pg-never"]);
  });

  it("follows PGFLEX_RESTORE_TEST_MAX_AGE_DAYS", async () => {
    const { sweeper } = setup({ restoreTestMaxAgeDays: 7 });
    const { rows, summary } = await sweeper.runSweep();
    expect(flagged(rows)).toEqual(["pg-tested-40", "pg-tested-10", "pg-never", "pg-new"]);
    expect(summary.restoreTests).toMatchObject({ maxAgeDays: 7, untested: 4 });
  });

  it("says once that restore tests are off, flags no server and reads no result, when PGFLEX_RESTORE_TESTS is empty", async () => {
    const { sweeper, reader } = setup({ restoreTestsEnabled: false });
    const { summary, rows } = await sweeper.runSweep();
    expect(flagged(rows)).toEqual([]);
    expect(summary.restoreTests).toEqual({
      enabled: false,
      maxAgeDays: 35,
      untested: 0,
      note: expect.stringContaining("Restore tests are off (PGFLEX_RESTORE_TESTS is empty)"),
    });
    expect(summary.failures).toEqual([]);
    expect(reader.reads).toBe(0);
  });

  it("lists unreadable results as a failure and flags nobody rather than everybody", async () => {
    const reader = aFakeReader(summaries);
    reader.fail = Object.assign(new Error("The table is being deleted."), { statusCode: 409 });
    const { sweeper } = setup({}, reader);
    const { summary, rows } = await sweeper.runSweep();
    expect(flagged(rows)).toEqual([]);
    expect(summary.restoreTests?.note).toContain("could not be read");
    expect(summary.failures).toEqual([
      expect.objectContaining({ scope: "sweep", target: "restoreTests table" }),
    ]);
  });

  it("adds the units' counts in a fanned-out sweep, reading the results once per unit", async () => {
    const s = setup({ scopes: [SUB_A, SUB_B] });
    const sweeper = createSweeper({
      inventory: createFakeInventory(anEstate(), [SUB_A, SUB_B]),
      store: s.store,
      config: { ...config, scopes: [SUB_A, SUB_B] },
      enqueueProtection: async () => {},
      scopeQueue: { send: async (m) => void s.queue.push(m) },
      restoreTests: s.reader,
      now: () => NOW,
      newId: () => "fan00001",
      fanOutMinSubscriptions: 1,
    });
    const started = await sweeper.startSweep();
    for (const m of s.queue) await sweeper.processScope(m);
    const done = await sweeper.getSweep(started.id);
    expect(s.queue).toHaveLength(2);
    expect(s.reader.reads).toBe(2);
    expect(done?.restoreTests).toEqual({ enabled: true, maxAgeDays: 35, untested: 3 });
  });

  it("shows the signal in GET /api/sweeps/latest and on the rows of GET /api/sweeps/{id}/rows", async () => {
    const { sweeper } = setup();
    const { summary } = await sweeper.runSweep();
    const keySet = await aKeySet();
    const api = createSweepsApi(
      { sweeper },
      {
        authorize: createAuthorizer(
          createTokenValidator({ tenantId: TENANT, audience: AUDIENCE, keys: keySet.keys }),
        ),
      },
    );
    const token = await keySet.mint({ roles: ["Backup.Reader"] });
    const latest = await api.get(
      aRequest({ url: "http://localhost:7071/api/sweeps/latest", params: { id: "latest" }, token }),
    );
    expect(latest.jsonBody).toMatchObject({ restoreTests: { enabled: true, untested: 3 } });
    const rows = await api.listRows(
      aRequest({
        url: `http://localhost:7071/api/sweeps/${summary.id}/rows`,
        params: { id: summary.id },
        token,
      }),
    );
    const value = (rows.jsonBody as { value: Array<{ serverId: string; restoreUntested?: boolean }> }).value;
    expect(flagged(value).sort()).toEqual(["pg-never", "pg-new", "pg-tested-40"]);
  });

  const env = { AzureWebJobsStorage: "UseDevelopmentStorage=true" };
  const schedule = allSettings.find((s) => s.name === "PGFLEX_RESTORE_TESTS");

  it("reads restore tests as off when PGFLEX_RESTORE_TESTS is empty, and the maximum age with its default of 35 days", () => {
    const base = sweepConfigFrom(loadConfig(env));
    expect(base.restoreTestMaxAgeDays).toBe(35);
    expect(base.restoreTestsEnabled).toBe(false);
    const sixty = loadConfig({ ...env, PGFLEX_RESTORE_TEST_MAX_AGE_DAYS: "60" });
    expect(sweepConfigFrom(sixty).restoreTestMaxAgeDays).toBe(60);
    expect(() => loadConfig({ ...env, PGFLEX_RESTORE_TEST_MAX_AGE_DAYS: "0" })).toThrow(
      /PGFLEX_RESTORE_TEST_MAX_AGE_DAYS/,
    );
  });

  it("reads restore tests as on when PGFLEX_RESTORE_TESTS is set", () => {
    const target = allSettings.find((s) => s.name === "PGFLEX_RESTORE_TEST_TARGET")?.example ?? "";
    const on = loadConfig({
      ...env,
      PGFLEX_RESTORE_TESTS: schedule?.example ?? "",
      PGFLEX_RESTORE_TEST_TARGET: target,
      PGFLEX_RESTORE_TARGETS: target,
    });
    expect(sweepConfigFrom(on).restoreTestsEnabled).toBe(true);
  });
});
