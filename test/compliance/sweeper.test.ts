import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createSweeper, type SweepConfig, type SweepScopeMessage } from "../../src/lib/compliance/sweeper.js";
import { createInMemorySweepStore } from "../../src/lib/store/sweeps.js";
import {
  DAY,
  NOW,
  SUB_A,
  SUB_B,
  VAULT_OTHER,
  aServer,
  anInstance,
  expectedClasses,
  serverIdOf,
} from "../fixtures/compliance/estate.js";
import { createFakeInventory, defaultVaults, type FakeEstate } from "../fixtures/compliance/fakes.js";

const config: SweepConfig = {
  mode: "enforce",
  scopes: [SUB_A],
  backupTag: "backup",
  policyMap: { weekly: "pgflex-weekly", gold: "pgflex-gold" },
  optOutValues: ["none", "off"],
  vaultMap: {},
  vaultMarkerTag: "pgflex-autoprotect",
  staleGraceInMs: DAY,
};

/** One server in each class. */
function anEstate(): FakeEstate {
  const protectedOne = aServer({ name: "pg-protected" });
  const stale = aServer({ name: "pg-stale" });
  const failed = aServer({ name: "pg-failed" });
  const wrong = aServer({ name: "pg-wrong", tags: { backup: "gold" } });
  const untaggedProtected = aServer({ name: "pg-untagged-protected", tags: {} });
  const elsewhere = aServer({ name: "pg-elsewhere" });
  const gone = aServer({ name: "pg-gone" });
  return {
    servers: [
      protectedOne,
      stale,
      aServer({ name: "pg-unprotected" }),
      failed,
      wrong,
      untaggedProtected,
      aServer({ name: "pg-opted-out", tags: { backup: "none" } }),
      elsewhere,
      aServer({ name: "pg-untagged", tags: {} }),
      aServer({ name: "pg-malformed", tags: { backup: "weekly", BACKUP: "gold" } }),
    ],
    vaults: defaultVaults(),
    instances: [
      anInstance(protectedOne),
      anInstance(stale, { lastSuccessfulBackupAt: new Date(NOW.getTime() - 20 * DAY).toISOString() }),
      anInstance(failed, {
        protectionStatus: "ConfiguringProtectionFailed",
        currentProtectionState: "ProtectionError",
      }),
      anInstance(wrong),
      anInstance(untaggedProtected),
      anInstance(elsewhere, { vaultId: VAULT_OTHER }),
      anInstance(gone),
    ],
  };
}

function setup(estate = anEstate(), overrides: Partial<SweepConfig> = {}) {
  const store = createInMemorySweepStore();
  const inventory = createFakeInventory(estate, [SUB_A, SUB_B]);
  const enqueued: Array<{ serverId: string; sweepId: string; reason: string }> = [];
  const queue: SweepScopeMessage[] = [];
  let clock = NOW.getTime();
  let n = 0;
  const sweeper = createSweeper({
    inventory,
    store,
    config: { ...config, ...overrides },
    enqueueProtection: async (r) => {
      enqueued.push(r);
    },
    scopeQueue: { send: async (m) => void queue.push(m) },
    now: () => new Date(clock),
    newId: () => `id${++n}`,
    fanOutMinSubscriptions: 1,
  });
  return { store, inventory, enqueued, queue, sweeper, estate, advance: (ms: number) => (clock += ms) };
}

const classOf = (rows: Array<{ serverId: string; class: string }>, name: string) =>
  rows.find((r) => r.serverId.endsWith(`/${name}`))?.class;

describe("sweeper", () => {
  it("classifies one server of each class and enqueues protection only for TaggedUnprotected and WrongPolicy", async () => {
    const { sweeper, enqueued } = setup();
    const { summary, rows } = await sweeper.runSweep({ cause: "test" });
    expect(Object.fromEntries(rows.map((r) => [r.serverId.split("/").pop(), r.class]))).toEqual(
      expectedClasses,
    );
    expect(enqueued.map((e) => [e.serverId, e.reason])).toEqual([
      [serverIdOf("pg-unprotected"), "TaggedUnprotected"],
      [serverIdOf("pg-wrong"), "WrongPolicy"],
    ]);
    expect(enqueued.every((e) => e.sweepId === summary.id)).toBe(true);
    expect(summary).toMatchObject({
      id: "20261125T120000000Z-id1",
      status: "Partial",
      total: 11,
      counts: {
        Protected: 1,
        ProtectedStale: 1,
        TaggedUnprotected: 1,
        ProtectionFailed: 1,
        WrongPolicy: 1,
        ProtectedUntagged: 1,
        OptedOut: 1,
        ProtectedElsewhere: 1,
        Untagged: 1,
        Unclassified: 1,
        Deleted: 1,
      },
      compliancePercent: 55.6,
      remediation: { enqueued: 2, wouldEnqueue: 0, failed: 0 },
      failureCount: 1,
      failures: [
        {
          scope: "server",
          target: serverIdOf("pg-malformed"),
          code: "MalformedTags",
          message:
            'Tags of pg-malformed are malformed: tag "backup" appears 2 times with different values ("backup", "BACKUP").',
        },
      ],
    });
  });

  it("changes nothing in report mode or on a dry run, and says what it would do", async () => {
    for (const { overrides, dryRun } of [
      { overrides: { mode: "report" as const }, dryRun: false },
      { overrides: {}, dryRun: true },
    ]) {
      const { sweeper, enqueued } = setup(anEstate(), overrides);
      const { summary, rows } = await sweeper.runSweep({ dryRun });
      expect(enqueued).toEqual([]);
      expect(summary.dryRun).toBe(true);
      expect(summary.remediation).toEqual({ enqueued: 0, wouldEnqueue: 2, failed: 0 });
      expect(rows.filter((r) => r.remediation === "wouldEnqueue").map((r) => r.class)).toEqual([
        "TaggedUnprotected",
        "WrongPolicy",
      ]);
    }
  });

  it("writes one row per server in batches of at most 100 in the sweep's partition", async () => {
    const estate: FakeEstate = { servers: [], vaults: defaultVaults(), instances: [] };
    for (let i = 0; i < 250; i++) estate.servers.push(aServer({ name: `pg-${i}`, tags: {} }));
    const { sweeper, store } = setup(estate);
    const { summary } = await sweeper.runSweep();
    expect(store.batches).toEqual([100, 100, 50]);
    expect(store.rows.get(summary.id)?.size).toBe(250);
  });

  it("writes the report of a 10,000-server sweep in at most 120 Table requests, diff included", async () => {
    const estate: FakeEstate = { servers: [], vaults: defaultVaults(), instances: [] };
    for (let i = 0; i < 10_000; i++) estate.servers.push(aServer({ name: `pg-${i}`, tags: {} }));
    const { sweeper, store, advance } = setup(estate);
    await sweeper.runSweep();
    advance(DAY);
    const before = store.requestCount;
    const { summary } = await sweeper.runSweep();
    expect(summary.total).toBe(10_000);
    // listSweeps 1 + create 1 + previous rows 10 pages + 100 batches + final update 1
    expect(store.requestCount - before).toBe(113);
  });

  it("reads the previous sweep's rows and the worker's records while the inventory is being collected", async () => {
    const store = createInMemorySweepStore();
    const inventory = createFakeInventory(anEstate(), [SUB_A]);
    const events: string[] = [];
    const listRows = store.listRows.bind(store);
    store.listRows = async function* (...args) {
      events.push("previous rows read");
      yield* listRows(...args);
    };
    const collect = inventory.collect.bind(inventory);
    inventory.collect = async (...args) => {
      await nextTurn();
      events.push("inventory collected");
      return collect(...args);
    };
    let clock = NOW.getTime();
    const sweeper = createSweeper({
      inventory,
      store,
      config,
      enqueueProtection: async () => {},
      listServerRecords: async function* () {
        events.push("records read");
        yield* [];
      },
      now: () => new Date(clock),
    });
    await sweeper.runSweep({ dryRun: true });
    clock += DAY;
    events.length = 0;

    const { summary } = await sweeper.runSweep({ dryRun: true });

    expect(events).toEqual(["records read", "previous rows read", "inventory collected"]);
    expect(summary.diff.changed).toBe(0);
  });

  it("reports what became compliant and what drifted since the previous sweep", async () => {
    const s = setup();
    const first = await s.sweeper.runSweep();
    expect(first.summary.diff).toMatchObject({ becameCompliant: 0, drifted: 0 });
    // The worker protected pg-unprotected; someone stopped pg-protected's backups; pg-untagged was deleted.
    const unprotected = s.estate.servers.find((x) => x.name === "pg-unprotected")!;
    s.estate.instances.push(anInstance(unprotected));
    const p = s.estate.instances.find((i) => i.datasourceId.endsWith("/pg-protected"))!;
    p.lastSuccessfulBackupAt = new Date(NOW.getTime() - 30 * DAY).toISOString();
    s.estate.servers = s.estate.servers.filter((x) => x.name !== "pg-untagged");
    s.advance(DAY);
    const second = await s.sweeper.runSweep();
    expect(second.summary.previousSweepId).toBe(first.summary.id);
    expect(second.summary.diff).toEqual({
      previousSweepId: first.summary.id,
      becameCompliant: 1,
      drifted: 1,
      changed: 2,
      added: 0,
      removed: 1,
      becameCompliantServers: [
        { serverId: serverIdOf("pg-unprotected"), from: "TaggedUnprotected", to: "Protected" },
      ],
      driftedServers: [{ serverId: serverIdOf("pg-protected"), from: "Protected", to: "ProtectedStale" }],
    });
    expect(second.rows.find((r) => r.serverId === serverIdOf("pg-protected"))?.previousClass).toBe(
      "Protected",
    );
  });

  it("lists a subscription that answers 403 and a vault that answers 404 without aborting or misclassifying", async () => {
    const estate = anEstate();
    const otherSub = aServer({ name: "pg-b", subscriptionId: SUB_B });
    estate.servers.push(otherSub);
    estate.instances.push(anInstance(otherSub));
    estate.failingSubscriptions = new Map([
      [SUB_B, { scope: "subscription", target: SUB_B, code: "AuthorizationFailed", message: "no access" }],
    ]);
    const { sweeper, enqueued } = setup(estate, { scopes: [SUB_A, SUB_B] });
    const { summary, rows } = await sweeper.runSweep();
    // pg-b's instance is not "Deleted": its subscription could not be listed.
    expect(rows.some((r) => r.serverId === otherSub.id)).toBe(false);
    expect(summary.status).toBe("Partial");
    expect(summary.failures.map((f) => f.code)).toEqual(["AuthorizationFailed", "MalformedTags"]);
    expect(enqueued).toHaveLength(2);

    const estate2 = anEstate();
    estate2.failingVaults = new Map([
      [VAULT_OTHER, { scope: "vault", target: VAULT_OTHER, code: "ResourceNotFound", message: "gone" }],
    ]);
    const s2 = setup(estate2);
    const r2 = await s2.sweeper.runSweep();
    // Without every vault read, "no instance" is not a fact: no remediation for it, no Untagged either.
    expect(classOf(r2.rows, "pg-unprotected")).toBe("Unclassified");
    expect(classOf(r2.rows, "pg-untagged")).toBe("Unclassified");
    expect(classOf(r2.rows, "pg-wrong")).toBe("WrongPolicy");
    expect(s2.enqueued.map((e) => e.reason)).toEqual(["WrongPolicy"]);
  });

  it("calls an instance Deleted only after its server answers 404, not when the listing merely missed it", async () => {
    const estate = anEstate();
    const hidden = aServer({ name: "pg-hidden" });
    estate.instances.push(anInstance(hidden));
    estate.hiddenServers = [hidden.id];
    const { sweeper } = setup(estate);
    const { summary, rows } = await sweeper.runSweep();
    expect(classOf(rows, "pg-hidden")).toBeUndefined();
    expect(classOf(rows, "pg-gone")).toBe("Deleted");
    expect(summary.failures).toContainEqual({
      scope: "server",
      target: hidden.id,
      code: "InventoryIncomplete",
      message: `Server ${hidden.id} exists but was missing from the inventory; classified next sweep.`,
    });
  });

  it("takes the worker's word for a server it gave up on: ProtectionFailed with its fix, not re-enqueued", async () => {
    const s = setup();
    const sweeper = createSweeper({
      inventory: s.inventory,
      store: s.store,
      config,
      enqueueProtection: async (r) => void s.enqueued.push(r),
      listServerRecords: async function* () {
        yield {
          resourceId: serverIdOf("pg-unprotected").toUpperCase(),
          state: "MissingPermissions",
          lastErrorCode: "UserErrorMissingRequiredPermissions",
          lastErrorMessage: "Reader is missing on rg-db.",
          fix: "az role assignment create --role Reader ...",
        };
        yield { resourceId: serverIdOf("pg-x", SUB_B), state: "Failed" };
      },
      now: () => NOW,
    });
    const { rows } = await sweeper.runSweep();
    expect(rows.find((r) => r.serverId === serverIdOf("pg-unprotected"))).toMatchObject({
      class: "ProtectionFailed",
      reason:
        "Protecting pg-unprotected failed (UserErrorMissingRequiredPermissions): Reader is missing on rg-db.",
      fix: "az role assignment create --role Reader ...",
    });
    expect(s.enqueued.map((e) => e.reason)).toEqual(["WrongPolicy"]);
  });

  it("re-enqueues servers the worker waits on or gave up on as not Ready once they are Ready, and leaves stopped ones to their start", async () => {
    const estate = anEstate();
    estate.servers.push(
      aServer({ name: "pg-started" }),
      aServer({ name: "pg-timed-out" }),
      aServer({ name: "pg-still-stopped", state: "Stopped" }),
    );
    const s = setup(estate);
    const sweeper = createSweeper({
      inventory: s.inventory,
      store: s.store,
      config,
      enqueueProtection: async (r) => void s.enqueued.push(r),
      listServerRecords: async function* () {
        yield {
          resourceId: serverIdOf("pg-started"),
          state: "WaitingForServer",
          lastErrorCode: "ServerStopped",
        };
        yield {
          resourceId: serverIdOf("pg-timed-out"),
          state: "Failed",
          lastErrorCode: "ServerNotReady",
          lastErrorMessage: "The server was not Ready within 120 minutes (state: Stopped).",
          fix: "Bring the server to Ready (start it or wait for the operation to finish), then re-apply the tag.",
        };
        yield {
          resourceId: serverIdOf("pg-still-stopped"),
          state: "WaitingForServer",
          lastErrorCode: "ServerStopped",
        };
      },
      now: () => NOW,
    });

    const { rows } = await sweeper.runSweep();

    expect(s.enqueued.map((e) => e.serverId)).toEqual([
      serverIdOf("pg-unprotected"),
      serverIdOf("pg-wrong"),
      serverIdOf("pg-started"),
      serverIdOf("pg-timed-out"),
    ]);
    expect(rows.find((r) => r.serverId === serverIdOf("pg-timed-out"))).toMatchObject({
      class: "ProtectionFailed",
      remediation: "enqueued",
    });
    const stopped = rows.find((r) => r.serverId === serverIdOf("pg-still-stopped"));
    expect(stopped).toMatchObject({
      class: "TaggedUnprotected",
      reason:
        "pg-still-stopped asks for policy pgflex-weekly but is Stopped; Azure Backup takes no backups of a server that is not Ready, so protection waits until it is (Azure starts a stopped server by itself after seven days).",
      fix: `Start the server to protect it now (az postgres flexible-server start --ids ${serverIdOf("pg-still-stopped")}); its start event, or the next sweep that sees it Ready, enqueues protection.`,
    });
    expect(stopped?.remediation).toBeUndefined();
  });

  it("records a failed enqueue as a failure and goes on", async () => {
    const s = setup();
    const sweeper = createSweeper({
      inventory: s.inventory,
      store: s.store,
      config,
      enqueueProtection: async (r) => {
        if (r.reason === "WrongPolicy") throw new Error("queue unavailable");
      },
      now: () => NOW,
    });
    const { summary } = await sweeper.runSweep();
    expect(summary.remediation).toEqual({ enqueued: 1, wouldEnqueue: 0, failed: 1 });
    expect(summary.failures).toContainEqual({
      scope: "remediation",
      target: serverIdOf("pg-wrong"),
      code: "Error",
      message: "queue unavailable",
    });
  });

  it("reports a sweep that stops half-way as Incomplete, never complete", async () => {
    const s = setup();
    const controller = new AbortController();
    const sweeper = createSweeper({
      inventory: {
        ...s.inventory,
        collect: async () => {
          controller.abort(new Error("host shutting down"));
          throw new Error("host shutting down");
        },
      },
      store: s.store,
      config,
      enqueueProtection: async () => {},
      now: () => NOW,
    });
    const { summary } = await sweeper.runSweep({ abortSignal: controller.signal });
    expect(summary.status).toBe("Incomplete");
    expect(summary.failures).toEqual([
      { scope: "sweep", target: summary.id, code: "Error", message: "host shutting down" },
    ]);
    expect((await sweeper.latestSweep())?.status).toBe("Incomplete");
  });

  it("records a sweep whose subscriptions cannot be listed as Incomplete, naming the failure", async () => {
    const s = setup(anEstate(), { scopes: [] });
    const sweeper = createSweeper({
      inventory: {
        ...s.inventory,
        listSubscriptions: async () => {
          throw Object.assign(new Error("The client does not have authorization."), {
            name: "RestError",
            code: "AuthorizationFailed",
            statusCode: 403,
          });
        },
      },
      store: s.store,
      config: { ...config, scopes: [] },
      enqueueProtection: async () => {},
      scopeQueue: { send: async (m) => void s.queue.push(m) },
      now: () => NOW,
    });
    const { summary } = await sweeper.runSweep();
    expect(summary).toMatchObject({ status: "Incomplete", total: 0 });
    expect(summary.failures).toEqual([
      {
        scope: "sweep",
        target: summary.id,
        code: "AuthorizationFailed",
        message: "The client does not have authorization.",
      },
    ]);
    expect((await sweeper.startSweep()).status).toBe("Incomplete");
    expect(s.queue).toEqual([]);
  });

  it("reports a Running sweep past its deadline as Incomplete", async () => {
    const s = setup(anEstate(), { scopes: [SUB_A, SUB_B] });
    const started = await s.sweeper.startSweep();
    expect((await s.sweeper.getSweep(started.id))?.status).toBe("Running");
    s.advance(3 * 3_600_000);
    expect((await s.sweeper.getSweep(started.id))?.status).toBe("Incomplete");
  });

  it("fans out per subscription through the queue and completes once, when the last unit is done", async () => {
    const estate = anEstate();
    const b = aServer({ name: "pg-b", subscriptionId: SUB_B });
    estate.servers.push(b);
    const s = setup(estate, { scopes: [SUB_A, SUB_B] });
    const started = await s.sweeper.startSweep({ cause: "timer" });
    expect(s.queue).toEqual([
      { sweepId: started.id, unit: SUB_A },
      { sweepId: started.id, unit: SUB_B },
    ]);
    await s.sweeper.processScope(s.queue[0]!);
    expect((await s.sweeper.getSweep(started.id))?.status).toBe("Running");
    // A redelivered message does not redo the unit.
    await s.sweeper.processScope(s.queue[0]!);
    expect(s.inventory.scopes.map((x) => [x.subscriptionIds, x.datasourceSubscriptionId])).toEqual([
      [[SUB_A], SUB_A],
    ]);
    await s.sweeper.processScope(s.queue[1]!);
    const done = await s.sweeper.getSweep(started.id);
    expect(done).toMatchObject({ status: "Partial", total: 12, scopeUnits: [SUB_A, SUB_B] });
    expect(s.store.rows.get(started.id)?.size).toBe(12);
    expect(s.enqueued.map((e) => e.serverId.split("/").pop())).toEqual([
      "pg-unprotected",
      "pg-wrong",
      "pg-b",
    ]);
  });

  it("reads the vault-wide inventory once for a fanned-out sweep, hands each unit its share, and lists vault failures once", async () => {
    const estate = anEstate();
    const b = aServer({ name: "pg-b", subscriptionId: SUB_B, tags: { backup: "gold" } });
    estate.servers.push(b);
    estate.instances.push(anInstance(b));
    estate.failingVaults = new Map([
      [VAULT_OTHER, { scope: "vault", target: VAULT_OTHER, code: "ResourceNotFound", message: "gone" }],
    ]);
    const s = setup(estate, { scopes: [SUB_A, SUB_B] });
    const started = await s.sweeper.startSweep();
    expect(s.inventory.vaultScopes).toHaveLength(1);
    expect(started).toMatchObject({ armRequests: 4, failureCount: 1 });
    for (const m of s.queue) await s.sweeper.processScope(m);
    expect(s.inventory.vaultScopes).toHaveLength(1);
    expect(s.inventory.givenVaults).toEqual([true, true]);
    const done = await s.sweeper.getSweep(started.id);
    // Vaults read once (4 requests), one server listing per unit, one GET confirming pg-gone is gone.
    expect(done).toMatchObject({ status: "Partial", total: 12, armRequests: 7 });
    expect(done?.failures.filter((f) => f.code === "ResourceNotFound")).toEqual([
      { scope: "vault", target: VAULT_OTHER, code: "ResourceNotFound", message: "gone" },
    ]);
    const rows = [...(s.store.rows.get(started.id)?.values() ?? [])];
    // Each unit saw the other vault unread; pg-b's instance reached the SUB_B unit (gold tag vs weekly policy).
    expect(classOf(rows, "pg-untagged")).toBe("Unclassified");
    expect(rows.find((r) => r.serverId === b.id)).toMatchObject({ class: "WrongPolicy" });
    expect(classOf(rows, "pg-gone")).toBe("Deleted");
  });

  it("reports a fanned-out sweep Incomplete, enqueueing nothing, when its vault inventory cannot be stored", async () => {
    const s = setup(anEstate(), { scopes: [SUB_A, SUB_B] });
    s.store.putVaultParts = async () => {
      throw new Error("table unavailable");
    };
    const started = await s.sweeper.startSweep();
    expect(started.status).toBe("Incomplete");
    expect(started.failures).toEqual([
      { scope: "sweep", target: started.id, code: "Error", message: "table unavailable" },
    ]);
    expect(s.queue).toEqual([]);
    expect((await s.sweeper.getSweep(started.id))?.status).toBe("Incomplete");
  });

  it("lets the queue retry a unit that crashed, then completes", async () => {
    const s = setup(anEstate(), { scopes: [SUB_A] });
    let calls = 0;
    const flaky = createSweeper({
      inventory: {
        ...s.inventory,
        collect: async (scope, o) => {
          if (calls++ === 0) throw new Error("instance recycled");
          return s.inventory.collect(scope, o);
        },
      },
      store: s.store,
      config: { ...config, scopes: [SUB_A] },
      enqueueProtection: async () => {},
      scopeQueue: { send: async (m) => void s.queue.push(m) },
      now: () => NOW,
    });
    const started = await flaky.startSweep();
    await expect(flaky.processScope(s.queue[0]!)).rejects.toThrow("instance recycled");
    expect((await flaky.getSweep(started.id))?.status).toBe("Running");
    await flaky.processScope(s.queue[0]!);
    expect((await flaky.getSweep(started.id))?.status).toBe("Partial");
  });
});
