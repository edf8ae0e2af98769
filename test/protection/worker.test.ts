import { RestError } from "@azure/core-rest-pipeline";
import { beforeEach, describe, expect, it } from "vitest";
import {
  backupInstanceName,
  createProtectionMessage,
  createProtectionWorker,
  type DataProtectionPort,
  type ProcessOutcome,
  type ProtectionMessage,
  type ProtectionSettings,
} from "../../src/lib/protection/index.js";
import type { AlertInput, Alerter } from "../../src/lib/alerts/alerts.js";
import { createInMemoryServerStore } from "../../src/lib/store/servers.js";
import { createInMemoryAuditLog } from "../../src/lib/store/audit.js";
import { parseServerId } from "../../src/lib/domain/serverId.js";
import {
  aServer,
  anArmError,
  fakeClock,
  FakeAzure,
  FakeQueue,
  OTHER_SUB,
  policyIdOf,
  PRINCIPAL,
  serverId,
  SUB,
  testSettings,
  VAULT_ID,
} from "./fakes.js";

function setup(overrides: Partial<ProtectionSettings> = {}) {
  const azure = new FakeAzure();
  const store = createInMemoryServerStore();
  const clock = fakeClock();
  const audit = createInMemoryAuditLog(clock.now);
  const queue = new FakeQueue();
  /** A worker on this store, audit, queue and clock, with some Data Protection calls or settings replaced. */
  const workerWith = (change: WorkerChange = {}) =>
    createProtectionWorker({
      servers: store,
      audit,
      queue,
      arm: { ...azure.arm, dataProtection: { ...azure.dataProtectionPort, ...change.dataProtection } },
      settings: testSettings({ ...overrides, ...change.settings }),
      now: clock.now,
      ...(change.alerter ? { alerter: change.alerter } : {}),
      ...(change.checks ? { checks: change.checks } : {}),
    });
  const worker = workerWith();
  /** Processes `message`, then every message it re-enqueues (time jumps over each delay), to the end. */
  const drain = async (message: ProtectionMessage, by = worker): Promise<ProcessOutcome> => {
    let outcome = await by.process(message);
    while (outcome.kind === "requeued") {
      clock.advance(outcome.delayInMs);
      const next = queue.sent.shift();
      if (!next) throw new Error("requeued without a message");
      outcome = await by.process(next.message);
    }
    return outcome;
  };
  return { azure, store, clock, audit, queue, worker, workerWith, drain };
}

interface WorkerChange {
  dataProtection?: Partial<DataProtectionPort>;
  settings?: Partial<ProtectionSettings>;
  alerter?: Pick<Alerter, "raise">;
  /** A queue of its own for configuring instances' follow-ups (default: the one queue). */
  checks?: FakeQueue;
}

/** Records raised alerts; `fail` makes raising throw, as a Storage outage would. */
function recordingAlerter(options: { fail?: boolean } = {}) {
  const raised: AlertInput[] = [];
  return {
    raised,
    raise: async (input: AlertInput) => {
      if (options.fail) throw new Error("alerts table unavailable");
      raised.push(input);
      return true;
    },
  };
}

const event = (id: string, resourceId: string, action: "protect" | "delete" = "protect"): ProtectionMessage =>
  createProtectionMessage(resourceId, { kind: "event", eventId: id }, { action });

describe("protection worker", () => {
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    t = setup();
  });

  it("protects a tagged server with exactly two ARM writes and at most eight requests", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-one" }));

    const first = await t.worker.process(event("e1", s.id));
    expect(first).toEqual({ kind: "requeued", state: "Validating", delayInMs: 45_000 });
    const outcome = await t.drain(t.queue.sent.shift()!.message);

    expect(outcome).toEqual({ kind: "settled", state: "Protected" });
    const row = await t.store.get(s.id);
    expect(row).toMatchObject({
      state: "Protected",
      region: "westeurope",
      tagValue: "weekly",
      policyName: "pgflex-weekly",
      vaultId: VAULT_ID,
      instanceName: backupInstanceName(s.id),
      attempts: 0,
      lastCause: "event:e1",
    });
    expect(row?.leaseOwner).toBeUndefined();
    expect(row?.protectedAt).toBe(t.clock.now().toISOString());
    expect(t.azure.writes().map((c) => c.op)).toEqual(["validateForBackup", "createBackupInstance"]);
    expect(t.azure.calls.length).toBeLessThanOrEqual(8);
    expect(t.audit.entries.map((e) => e.detail)).toEqual([
      "Pending -> Validating",
      "policy pgflex-weekly",
      "Validating -> Configuring",
      "Configuring -> Protected",
    ]);
    expect(t.audit.entries.every((e) => e.cause === "event:e1")).toBe(true);
  });

  it("reads the vault and policy once for a burst of servers", async () => {
    for (const name of ["pg-a", "pg-b", "pg-c"]) {
      const s = t.azure.addGrantedServer(aServer({ name }));
      await t.drain(event(`e-${name}`, s.id));
    }
    expect(t.azure.count("getVault")).toBe(1);
    expect(t.azure.count("getPolicy")).toBe(1);
    expect(t.azure.count("listRoles")).toBe(0);
    expect(t.azure.instances.size).toBe(3);
  });

  it("protects a tagged server once when the event arrives twice", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-dup" }));
    await t.drain(event("e1", s.id));
    const callsAfterFirst = t.azure.calls.length;

    const second = await t.worker.process(event("e1", s.id));

    expect(second).toEqual({ kind: "skipped", reason: "event:e1 was already handled (Protected)" });
    expect(t.azure.calls.length).toBe(callsAfterFirst);
    expect(t.azure.instances.size).toBe(1);
  });

  it("creates exactly one instance when 50 duplicate deliveries are processed concurrently", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-burst" }));

    const outcomes = await Promise.all(
      Array.from({ length: 50 }, () => t.worker.process(event("e-burst", s.id))),
    );
    expect(outcomes.filter((o) => o.kind !== "skipped")).toEqual([
      { kind: "requeued", state: "Validating", delayInMs: 45_000 },
    ]);
    const last = await t.drain(t.queue.sent.shift()!.message);

    expect(last).toEqual({ kind: "settled", state: "Protected" });
    expect(t.azure.count("createBackupInstance")).toBe(1);
    expect(t.azure.count("validateForBackup")).toBe(1);
  });

  it("evaluates again a tag change that arrived while another request held the server", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-moving" }));
    await t.worker.process(event("e1", s.id));

    s.tags = {};
    expect(await t.worker.process(event("e2", s.id))).toEqual({
      kind: "skipped",
      reason: `another request holds ${s.id.toLowerCase()}`,
    });
    expect((await t.store.get(s.id))?.recheckCause).toBe("event:e2");
    expect(await t.drain(t.queue.sent.shift()!.message)).toEqual({ kind: "settled", state: "Protected" });

    const recheck = t.queue.sent.shift()!.message;
    expect(recheck.cause).toEqual({ kind: "event", eventId: "e2" });
    expect(await t.worker.process(recheck)).toEqual({ kind: "settled", state: "ProtectedUntagged" });
    expect((await t.store.get(s.id))?.recheckCause).toBeUndefined();
  });

  it("records an opt-out tag as OptedOut and touches nothing in Azure", async () => {
    const s = t.azure.addServer(aServer({ name: "pg-off", tags: { Backup: "OFF" } }));

    await t.worker.process(event("e1", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "OptedOut",
      tagValue: "OFF",
      lastErrorMessage: 'The "backup" tag opts the server out of protection.',
    });
    expect(t.azure.writes()).toEqual([]);
  });

  it("records a server without the tag as OptedOut and protects it once the tag is added", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-later", tags: {} }));
    await t.drain(event("create", s.id));
    expect(await t.store.get(s.id)).toMatchObject({
      state: "OptedOut",
      lastErrorMessage: 'The server has no "backup" tag; add it to ask for protection.',
    });

    s.tags = { backup: "gold" };
    t.azure.addPolicy("pgflex-gold");
    await t.drain(event("tags", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "Protected",
      policyName: "pgflex-gold",
      tagValue: "gold",
    });
  });

  it("keeps protection when the tag is removed and records ProtectedUntagged", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-untag" }));
    await t.drain(event("e1", s.id));

    s.tags = {};
    await t.worker.process(event("e2", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "ProtectedUntagged",
      lastErrorMessage:
        'The "backup" tag was removed or opts out; protection continues: this product never stops protection or deletes backups.',
    });
    expect(t.azure.instances.size).toBe(1);
    expect(t.azure.writes().map((c) => c.op)).toEqual(["validateForBackup", "createBackupInstance"]);
  });

  it("names the allowed values when the tag value maps to no policy", async () => {
    const s = t.azure.addServer(aServer({ name: "pg-odd", tags: { backup: "platinum" } }));

    await t.worker.process(event("e1", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "UnknownPolicyTag",
      lastErrorCode: "UnknownPolicyTag",
      lastErrorMessage:
        'Backup tag "backup" has the value "platinum", which maps to no backup policy. Allowed values: gold, weekly, none, off.',
    });
  });

  it("stops on a malformed backup tag with the problem and the fix, as the sweep reads it, and touches nothing", async () => {
    const twice = t.azure.addServer(
      aServer({ name: "pg-twice", tags: { backup: "gold", Backup: "weekly" } }),
    );
    const control = t.azure.addServer(aServer({ name: "pg-control", tags: { backup: "plat\u0000inum" } }));

    await t.worker.process(event("e1", twice.id));
    await t.worker.process(event("e1", control.id));

    const fix = (id: string) =>
      `Set exactly one "backup" tag with a policy value on ${id.toLowerCase()}, e.g. az tag update --resource-id ${id.toLowerCase()} --operation merge --tags backup=<value>.`;
    expect(await t.store.get(twice.id)).toMatchObject({
      state: "UnknownPolicyTag",
      lastErrorCode: "MalformedTag",
      lastErrorMessage:
        'The backup tag is malformed: tag "backup" appears 2 times with different values ("backup", "Backup").',
      fix: fix(twice.id),
    });
    expect((await t.store.get(twice.id))?.tagValue).toBeUndefined();
    expect(await t.store.get(control.id)).toMatchObject({
      state: "UnknownPolicyTag",
      lastErrorCode: "MalformedTag",
      lastErrorMessage: 'The backup tag is malformed: tag "backup" contains control characters.',
      fix: fix(control.id),
    });
    expect(t.azure.writes()).toEqual([]);
  });

  it("keeps protection when a protected server's backup tag becomes malformed", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-garbled" }));
    await t.drain(event("e1", s.id));

    s.tags = { backup: "" };
    await t.drain(event("e2", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "ProtectedUntagged",
      lastErrorMessage: 'The backup tag is malformed: tag "backup" is empty. Protection continues unchanged.',
    });
    expect(t.azure.instances.size).toBe(1);
  });

  it("says which region lacks a vault", async () => {
    t = setup({ vaultMap: {}, vaultMarkerTag: "pgflex-autoprotect" });
    const s = t.azure.addServer(aServer({ name: "pg-far", location: "Japan East" }));

    await t.worker.process(event("e1", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "NoVaultForRegion",
      lastErrorMessage: 'No Backup vault serves region "japaneast".',
      fix: 'Add japaneast=<Backup vault resource id> to PGFLEX_VAULT_MAP, or tag a Backup vault in japaneast with "pgflex-autoprotect".',
    });
  });

  it("finds the region's vault by its marker tag when the map has no entry", async () => {
    t = setup({ vaultMap: {} });
    const s = t.azure.addGrantedServer(aServer({ name: "pg-disc" }));

    await t.drain(event("e1", s.id));

    expect(await t.store.get(s.id)).toMatchObject({ state: "Protected", vaultId: VAULT_ID });
  });

  it("finds the region's marked vault in a central subscription in scope", async () => {
    t = setup({ vaultMap: {}, scopes: [OTHER_SUB] });
    const central = `/subscriptions/${OTHER_SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-central`;
    t.azure.vaults = [{ ...t.azure.vaults[0]!, id: central, name: "bv-central" }];
    t.azure.policies.add(`${central}/backupPolicies/pgflex-weekly`.toLowerCase());
    const s = t.azure.addGrantedServer(aServer({ name: "pg-central" }));

    expect(await t.drain(event("e1", s.id))).toEqual({ kind: "settled", state: "Protected" });

    expect(await t.store.get(s.id)).toMatchObject({ vaultId: central });
    expect(t.azure.instances.get(backupInstanceName(s.id))?.id).toBe(
      `${central}/backupInstances/${backupInstanceName(s.id)}`,
    );
    expect(t.azure.calls.filter((c) => c.op === "listVaults").map((c) => c.target)).toEqual([SUB, OTHER_SUB]);
  });

  it("waits for a server that is not Ready and gives up after the deadline", async () => {
    t = setup({ waitForServerDeadlineInMs: 60_000, retryBaseInMs: 10_000 });
    const s = t.azure.addServer(aServer({ name: "pg-slow", state: "Provisioning" }));

    const first = await t.worker.process(event("e1", s.id));

    expect(first).toEqual({ kind: "requeued", state: "WaitingForServer", delayInMs: 10_000 });
    expect(t.queue.sent).toHaveLength(1);
    expect(t.queue.sent[0]?.options?.visibilityTimeoutInMs).toBe(10_000);
    expect(await t.store.get(s.id)).toMatchObject({
      state: "WaitingForServer",
      lastErrorMessage: "Waiting for the server to be Ready (state: Provisioning).",
    });

    t.clock.advance(61_000);
    const next = t.queue.sent[0]!.message;
    await t.worker.process(next);

    expect(await t.store.get(s.id)).toMatchObject({
      state: "Failed",
      lastErrorCode: "ServerNotReady",
      lastErrorMessage: "The server was not Ready within 1 minutes (state: Provisioning).",
    });
  });

  it("resumes once a waiting server becomes Ready", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-ready-later", state: "Provisioning" }));
    await t.worker.process(event("e1", s.id));

    s.state = "Ready";
    await t.drain(t.queue.sent.shift()!.message);

    expect((await t.store.get(s.id))?.state).toBe("Protected");
  });

  it("names each missing role with its scope and the exact command when it may not grant", async () => {
    const s = t.azure.addServer(aServer({ name: "pg-norbac" }));

    await t.drain(event("e1", s.id));

    const rg = `/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg-app`;
    const id = s.id.toLowerCase();
    expect(await t.store.get(s.id)).toMatchObject({
      state: "MissingPermissions",
      lastErrorCode: "MissingPermissions",
      lastErrorMessage: `The identity ${PRINCIPAL} of Backup vault "bv-weu" lacks "Reader" on ${rg} and "PostgreSQL Flexible Server Long Term Retention Backup Role" on ${id}.`,
      fix:
        `az role assignment create --assignee-object-id ${PRINCIPAL} --assignee-principal-type ServicePrincipal --role "Reader" --scope ${rg}\n` +
        `az role assignment create --assignee-object-id ${PRINCIPAL} --assignee-principal-type ServicePrincipal --role "PostgreSQL Flexible Server Long Term Retention Backup Role" --scope ${id}\n` +
        "(or set PGFLEX_AUTO_GRANT_ROLES=true to let this app grant them)",
    });
    expect(t.azure.count("createRole")).toBe(0);
    expect(t.azure.instances.size).toBe(0);
  });

  it("alerts once when a server stops on missing permissions, not again while it stays there", async () => {
    const alerter = recordingAlerter();
    const worker = t.workerWith({ alerter });
    const s = t.azure.addServer(aServer({ name: "pg-alert" }));

    await t.drain(event("e1", s.id), worker);
    await t.drain(event("e2", s.id), worker);

    const row = await t.store.get(s.id);
    expect(alerter.raised).toEqual([
      {
        kind: "ProtectionFailed",
        dedupKey: `${s.id.toLowerCase()}|MissingPermissions|MissingPermissions|event:e1`,
        serverId: s.id.toLowerCase(),
        title: "pg-alert is not protected: MissingPermissions",
        message: `${s.id.toLowerCase()} is MissingPermissions (MissingPermissions): ${row?.lastErrorMessage}`,
        recommendedAction: row?.fix,
      },
    ]);
  });

  it("settles a tagged read replica Unsupported with the reason, without an alert or a Data Protection call, and again the same on the next cause", async () => {
    const alerter = recordingAlerter();
    const worker = t.workerWith({ alerter });
    const s = t.azure.addServer(aServer({ name: "pg-replica", replicationRole: "AsyncReplica" }));

    await t.drain(event("e1", s.id), worker);
    await t.drain(event("e2", s.id), worker);

    expect(await t.store.get(s.id)).toMatchObject({
      state: "Unsupported",
      policyName: "pgflex-weekly",
      lastErrorCode: "ReadReplicaNotSupported",
      lastErrorMessage:
        "pg-replica is a read replica (replicationRole AsyncReplica); Azure Backup protects primary servers only.",
    });
    expect(alerter.raised).toEqual([]);
    expect(t.azure.writes()).toEqual([]);
    expect(t.azure.count("validateForBackup")).toBe(0);
  });

  it("settles Unsupported, without an alert or a retry, when Azure refuses a server ARM did not report as a replica", async () => {
    const alerter = recordingAlerter();
    const worker = t.workerWith({ alerter });
    const s = t.azure.addGrantedServer(aServer({ name: "pg-new-replica" }));
    t.azure.validateRefusals.set(
      s.id.toLowerCase(),
      anArmError(400, "UserErrorReadReplicaNotSupported", "Read replicas cannot be protected."),
    );

    expect(await t.drain(event("e1", s.id), worker)).toEqual({ kind: "settled", state: "Unsupported" });

    expect(await t.store.get(s.id)).toMatchObject({
      state: "Unsupported",
      lastErrorCode: "UserErrorReadReplicaNotSupported",
      lastErrorMessage: expect.stringContaining("Azure said: Read replicas cannot be protected.") as unknown,
      fix: expect.stringContaining("Protect its primary server instead") as unknown,
    });
    expect(alerter.raised).toEqual([]);
    expect(t.azure.count("createBackupInstance")).toBe(0);
  });

  it("alerts again when a server that was fixed and protected falls into a stop again", async () => {
    const alerter = recordingAlerter();
    const worker = t.workerWith({ alerter });
    const s = t.azure.addServer(aServer({ name: "pg-relapse" }));
    await t.drain(event("e1", s.id), worker);
    t.azure.grantAll(s.id);
    expect(await t.drain(event("e2", s.id), worker)).toEqual({ kind: "settled", state: "Protected" });

    t.azure.instances.clear();
    t.azure.roles = [];
    await t.drain(event("e3", s.id), worker);

    expect(alerter.raised.map((a) => a.dedupKey.split("|").slice(1))).toEqual([
      ["MissingPermissions", "MissingPermissions", "event:e1"],
      ["MissingPermissions", "MissingPermissions", "event:e3"],
    ]);
  });

  it("alerts when transient failures run out, and protects anyway when the alert cannot be raised", async () => {
    const alerter = recordingAlerter();
    const failing = t.azure.addGrantedServer(aServer({ name: "pg-down" }));
    t.azure.beforeCreate = () => {
      throw anArmError(503, "ServiceUnavailable", "The service is unavailable.");
    };

    await t.drain(event("e1", failing.id), t.workerWith({ alerter }));

    expect(alerter.raised.map((a) => [a.title, a.message])).toEqual([
      [
        "pg-down is not protected: Failed",
        `${failing.id.toLowerCase()} is Failed (ServiceUnavailable): Gave up after 11 attempts over 30 min: The service is unavailable.`,
      ],
    ]);
    t.azure.beforeCreate = undefined;
    const fine = t.azure.addServer(aServer({ name: "pg-noroles" }));
    const outcome = await t.drain(
      event("e2", fine.id),
      t.workerWith({ alerter: recordingAlerter({ fail: true }) }),
    );
    expect(outcome).toEqual({ kind: "settled", state: "MissingPermissions" });
  });

  it("grants the missing roles when allowed, then validates again and protects", async () => {
    t = setup({ autoGrantRoles: true });
    const s = t.azure.addServer(aServer({ name: "pg-grant" }));

    await t.worker.process(event("e1", s.id));
    const afterGrant = await t.worker.process(t.queue.sent.shift()!.message);
    expect(afterGrant).toMatchObject({ kind: "requeued", state: "Validating" });
    expect(t.azure.count("createRole")).toBe(2);
    expect(t.audit.entries.filter((e) => e.action === "grantRole").map((e) => e.detail)).toEqual([
      `Reader to ${PRINCIPAL}`,
      `PostgreSQL Flexible Server Long Term Retention Backup Role to ${PRINCIPAL}`,
    ]);

    const last = await t.drain(t.queue.sent.shift()!.message);

    expect(last).toEqual({ kind: "settled", state: "Protected" });
    expect(t.azure.instances.size).toBe(1);
  });

  it("records MissingPermissions when auto-grant is on but the app may not assign roles", async () => {
    t = setup({ autoGrantRoles: true });
    t.azure.mayGrant = false;
    const s = t.azure.addServer(aServer({ name: "pg-denied" }));

    await t.drain(event("e1", s.id));

    const row = await t.store.get(s.id);
    expect(row?.state).toBe("MissingPermissions");
    expect(row?.lastErrorMessage).toMatch(/This app is not permitted to grant them \(403\)\.$/);
    expect(row?.fix?.split("\n")).toHaveLength(2);
  });

  it("records a server protected by another vault as ProtectedElsewhere without retrying", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-else" }));
    t.azure.protectedElsewhere.add(s.id.toLowerCase());

    const outcome = await t.drain(event("e1", s.id));

    expect(outcome).toEqual({ kind: "settled", state: "ProtectedElsewhere" });
    expect(await t.store.get(s.id)).toMatchObject({
      lastErrorCode: "UserErrorDppDatasourceAlreadyProtected",
      lastErrorMessage:
        "The server is already protected by another Backup vault: Datasource is already protected in vault bv-other.",
    });
    expect(t.queue.sent).toEqual([]);
    expect(t.azure.count("createBackupInstance")).toBe(0);
  });

  it("records a server already protected in this vault by another instance as Protected, not an error", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-manual" }));
    t.azure.addInstance("manual-1", s.id);

    const outcome = await t.drain(event("e1", s.id));

    expect(outcome).toEqual({ kind: "settled", state: "Protected" });
    expect(await t.store.get(s.id)).toMatchObject({
      lastErrorCode: "ProtectedByAnotherInstance",
      lastErrorMessage:
        'The server is already protected in Backup vault "bv-weu" by another backup instance: Datasource is already protected in vault bv-weu.',
    });
    expect(t.azure.count("createBackupInstance")).toBe(0);
  });

  it("resumes cleanly after a worker is killed between validate and create", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-crash" }));
    t.azure.beforeCreate = () => {
      t.azure.beforeCreate = undefined;
      throw new Error("worker killed");
    };
    await t.worker.process(event("e1", s.id));
    const message = t.queue.sent.shift()!.message;

    await expect(t.worker.process(message, { dequeueCount: 1 })).rejects.toThrow("worker killed");
    expect((await t.store.get(s.id))?.state).toBe("Validating");

    // The queue redelivers the same message; a duplicate of the event meanwhile must not start over.
    expect(await t.worker.process(event("e1", s.id))).toEqual({
      kind: "skipped",
      reason: `another request holds ${s.id.toLowerCase()}`,
    });
    const resumed = await t.worker.process(message, { dequeueCount: 2 });
    expect(resumed).toEqual({ kind: "requeued", state: "Configuring", delayInMs: 75_000 });
    expect(await t.drain(t.queue.sent.shift()!.message)).toEqual({ kind: "settled", state: "Protected" });

    expect(t.azure.instances.size).toBe(1);
    expect(t.azure.count("validateForBackup")).toBe(1);
  });

  it("does not create a second instance when a crash came after the create", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-crash2" }));
    const original = t.azure.dataProtectionPort;
    const message = event("e1", s.id);
    let killed = false;
    const worker = t.workerWith({
      dataProtection: {
        createBackupInstance: async (...args) => {
          const r = await original.createBackupInstance(...args);
          if (!killed) {
            killed = true;
            throw new Error("worker killed after create");
          }
          return r;
        },
      },
    });

    await worker.process(message);
    const second = t.queue.sent.shift()!.message;
    await expect(worker.process(second)).rejects.toThrow("worker killed after create");
    let outcome = await worker.process(second, { dequeueCount: 2 });
    while (outcome.kind === "requeued") outcome = await worker.process(t.queue.sent.shift()!.message);

    expect(t.azure.count("createBackupInstance")).toBe(1);
    expect((await t.store.get(s.id))?.state).toBe("Protected");
  });

  it("in report mode records WouldProtect and changes nothing in Azure", async () => {
    t = setup({ mode: "report" });
    const s = t.azure.addServer(aServer({ name: "pg-report" }));

    await t.worker.process(event("e1", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "WouldProtect",
      lastErrorMessage: `Would protect with policy "pgflex-weekly" in Backup vault "bv-weu" as instance "${backupInstanceName(s.id)}".`,
    });
    expect(t.azure.writes()).toEqual([]);
    expect(t.audit.entries.map((e) => e.action)).toEqual(["stateChange"]);
  });

  it("records a known server that is gone as Deleted, keeps its row and deletes nothing", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-gone" }));
    await t.drain(event("e1", s.id));
    expect((await t.store.get(s.id))?.state).toBe("Protected");
    t.azure.servers.delete(s.id.toLowerCase());

    const outcome = await t.worker.process(event("e2", s.id, "delete"));

    expect(outcome).toEqual({ kind: "settled", state: "Deleted" });
    expect(await t.store.get(s.id)).toMatchObject({
      state: "Deleted",
      lastErrorMessage:
        "The server was deleted. Its backups, if any, are kept: this product never deletes them.",
    });
    expect(t.audit.entries.map((e) => e.action)).not.toContain("removeRow");
    expect(t.azure.count("createBackupInstance")).toBe(1);
  });

  it("removes the row of a server Azure never knew, with an audit entry saying why", async () => {
    const id = serverId("pg-never");
    const alerter = recordingAlerter();
    const worker = t.workerWith({ alerter });
    // The event handler records the server as Pending before the worker reads it.
    await t.store.create({
      ...parseServerId(id)!,
      state: "Pending",
      attempts: 0,
      lastCause: "event:e1",
      updatedAt: t.clock.now().toISOString(),
    });

    const outcome = await worker.process(event("e1", id));

    expect(outcome).toEqual({ kind: "settled", state: "Deleted", removed: true });
    expect(await t.store.get(id)).toBeUndefined();
    expect(t.audit.entries).toMatchObject([
      {
        action: "removeRow",
        target: id.toLowerCase(),
        serverId: id.toLowerCase(),
        cause: "event:e1",
        detail:
          "Row removed: Azure Resource Manager answers 404 for the server and it never got past Pending, so there is no protection or history to keep. A later event for the server records it again.",
      },
    ]);
    expect(alerter.raised).toEqual([]);
    expect(t.queue.sent).toEqual([]);
    expect(t.azure.writes()).toEqual([]);
  });

  it("removes a never-known server's row again on each redelivery, without looping or alerting", async () => {
    const id = serverId("pg-never");
    const alerter = recordingAlerter();
    const worker = t.workerWith({ alerter });
    const message = event("e1", id);

    // A delete event, then the same delivery twice (the worker creates the row on first sight each time).
    expect(await worker.process(event("e0", id, "delete"))).toMatchObject({
      state: "Deleted",
      removed: true,
    });
    expect(await worker.process(message)).toMatchObject({ state: "Deleted", removed: true });
    expect(await worker.process(message)).toMatchObject({ state: "Deleted", removed: true });

    expect([...t.store.rows.keys()]).toEqual([]);
    expect(t.audit.entries.map((e) => e.action)).toEqual(["removeRow", "removeRow", "removeRow"]);
    expect(t.queue.sent).toEqual([]);
    expect(alerter.raised).toEqual([]);
  });

  it("passes on a cause noted while it removed a never-known server's row, so that cause is evaluated too", async () => {
    const id = serverId("pg-never");
    let noted: ProcessOutcome | undefined;
    // While the first run reads the server, a tag write arrives and is noted on the leased row.
    t.azure.latency = async () => {
      if (!noted) noted = await t.worker.process(event("e2", id));
    };

    const outcome = await t.worker.process(event("e1", id));

    expect(noted).toEqual({ kind: "skipped", reason: `another request holds ${id.toLowerCase()}` });
    expect(outcome).toEqual({ kind: "settled", state: "Deleted", removed: true });
    expect(await t.store.get(id)).toBeUndefined();
    expect(t.queue.sent.map((m) => m.message.cause)).toEqual([{ kind: "event", eventId: "e2" }]);
  });

  it("creates a mapped policy that the vault lacks, once", async () => {
    t.azure.policies.clear();
    const s = t.azure.addGrantedServer(aServer({ name: "pg-pol" }));

    await t.drain(event("e1", s.id));

    expect(t.azure.count("createPolicy")).toBe(1);
    expect(t.audit.entries.find((e) => e.action === "createPolicy")).toMatchObject({
      target: policyIdOf("pgflex-weekly"),
      detail: "weekly, retention P12W",
    });
    expect((await t.store.get(s.id))?.state).toBe("Protected");
  });

  it("looks a missing policy up and creates it once for concurrent servers", async () => {
    t.azure.policies.clear();
    const servers = ["pg-p1", "pg-p2", "pg-p3"].map((name) => t.azure.addGrantedServer(aServer({ name })));

    await Promise.all(servers.map((s) => t.worker.process(event(`e-${s.name}`, s.id))));

    expect(t.azure.count("getPolicy")).toBe(1);
    expect(t.azure.count("createPolicy")).toBe(1);
  });

  it("stops with the exact fix when a mapped policy is missing and may not be created", async () => {
    t = setup({ createMissingPolicies: false });
    t.azure.policies.clear();
    const s = t.azure.addServer(aServer({ name: "pg-nopol" }));

    await t.drain(event("e1", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "Failed",
      lastErrorCode: "PolicyNotFound",
      lastErrorMessage: 'Backup policy "pgflex-weekly" does not exist in Backup vault "bv-weu".',
      fix: `Create policy "pgflex-weekly" in ${VAULT_ID}, or set PGFLEX_CREATE_MISSING_POLICIES=true.`,
    });
    expect(t.azure.writes()).toEqual([]);
  });

  it("leaves a visible Failed row when the last delivery of a message fails", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-poison" }));
    t.azure.beforeCreate = () => {
      throw new Error("socket hang up");
    };

    await t.worker.process(event("e1", s.id));
    const message = t.queue.sent.shift()!.message;

    await expect(t.worker.process(message, { dequeueCount: 1 })).rejects.toThrow("socket hang up");
    const outcome = await t.worker.process(message, { dequeueCount: 5 });

    expect(outcome).toEqual({ kind: "settled", state: "Failed" });
    expect(await t.store.get(s.id)).toMatchObject({
      state: "Failed",
      lastErrorCode: "Error",
      lastErrorMessage: "Gave up after 5 deliveries: socket hang up",
    });
  });

  it("retries a transient Azure failure in a fresh message and shows it on the row meanwhile", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-flaky" }));
    let failures = 1;
    t.azure.beforeCreate = () => {
      if (failures-- > 0) throw anArmError(503, "ServiceUnavailable", "The service is unavailable.");
    };
    await t.worker.process(event("e1", s.id));
    t.clock.advance(45_000);

    const outcome = await t.worker.process(t.queue.sent.shift()!.message, { dequeueCount: 1 });

    expect(outcome).toEqual({ kind: "requeued", state: "Validating", delayInMs: 10_000 });
    const retry = t.queue.sent[0];
    expect(retry?.message).toMatchObject({ transientFailures: 1, retriedForInMs: 10_000 });
    expect(retry?.options?.visibilityTimeoutInMs).toBe(10_000);
    expect(await t.store.get(s.id)).toMatchObject({
      state: "Validating",
      lastErrorCode: "ServiceUnavailable",
      lastErrorMessage:
        "Retrying in 10 s after a transient failure (1 in a row): The service is unavailable.",
      fix: "Nothing yet: the app keeps retrying for up to 30 min more. If it keeps failing, check Azure's status and the subscription's throttling.",
    });
    t.clock.advance(10_000);
    const last = await t.drain(t.queue.sent.shift()!.message);

    expect(last).toEqual({ kind: "settled", state: "Protected" });
    const row = await t.store.get(s.id);
    expect(row?.lastErrorCode).toBeUndefined();
    expect(row?.lastErrorMessage).toBeUndefined();
    expect(t.azure.instances.size).toBe(1);
  });

  it("checks a configuring instance through its own queue, so its reads never wait behind new requests", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-checked" }));
    t.azure.configuringReads = 1;
    let unavailable = 1;
    const checks = new FakeQueue();
    const worker = t.workerWith({
      checks,
      dataProtection: {
        getBackupInstance: async (...args) => {
          if (unavailable-- > 0) throw anArmError(503, "ServiceUnavailable", "The service is unavailable.");
          return t.azure.dataProtectionPort.getBackupInstance(...args);
        },
      },
    });
    const next = async (from: FakeQueue, delayInMs: number) => {
      t.clock.advance(delayInMs);
      const sent = from.sent.shift();
      if (!sent) throw new Error("no message on that queue");
      return worker.process(sent.message);
    };

    // The new request and its validation's follow-up: both may write, so both use protect-requests.
    const validating = await worker.process(event("e1", s.id));
    expect(validating).toMatchObject({ kind: "requeued", state: "Validating" });
    expect(checks.sent).toEqual([]);
    const created = await next(t.queue, 45_000);

    // From the PUT on, every follow-up (a transient failure's retry too) is a read on protect-checks.
    expect(created).toMatchObject({ kind: "requeued", state: "Configuring" });
    expect(t.queue.sent).toEqual([]);
    const retried = await next(checks, created.kind === "requeued" ? created.delayInMs : 0);
    expect(retried).toMatchObject({ kind: "requeued", state: "Configuring" });
    expect(checks.sent[0]?.message).toMatchObject({ transientFailures: 1 });
    const stillConfiguring = await next(checks, retried.kind === "requeued" ? retried.delayInMs : 0);
    expect(stillConfiguring).toMatchObject({ kind: "requeued", state: "Configuring" });
    const last = await next(checks, stillConfiguring.kind === "requeued" ? stillConfiguring.delayInMs : 0);

    expect(last).toEqual({ kind: "settled", state: "Protected" });
    expect(t.queue.sent).toEqual([]);
    expect(checks.sent).toEqual([]);
    expect(t.azure.writes().map((c) => c.op)).toEqual(["validateForBackup", "createBackupInstance"]);
  });

  it("finds the instance a reset PUT had created instead of creating it again", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-reset" }));
    let reset = true;
    t.azure.beforeCreate = () => {
      if (!reset) return;
      reset = false;
      // The PUT reached Azure; the connection dropped before the answer came back.
      t.azure.addInstance(backupInstanceName(s.id), s.id, {
        policyId: policyIdOf("pgflex-weekly"),
        protectionStatus: "ProtectionConfigured",
      });
      throw new RestError("socket hang up", { code: "ECONNRESET" });
    };

    const outcome = await t.drain(event("e1", s.id));

    expect(outcome).toEqual({ kind: "settled", state: "Protected" });
    expect(t.azure.count("createBackupInstance")).toBe(1);
    expect(t.azure.instances.size).toBe(1);
  });

  it("gives up on transient failures at the deadline and leaves a visible Failed row", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-outage" }));
    t.azure.beforeCreate = () => {
      throw anArmError(500, "InternalServerError", "Something went wrong.");
    };

    const outcome = await t.drain(event("e1", s.id));

    expect(outcome).toEqual({ kind: "settled", state: "Failed" });
    // Backoff 10 s, 20 s, … capped at 5 min: ten retries wait 30 min in all, the 11th failure gives up.
    expect(await t.store.get(s.id)).toMatchObject({
      state: "Failed",
      lastErrorCode: "InternalServerError",
      lastErrorMessage: "Gave up after 11 attempts over 30 min: Something went wrong.",
    });
    expect((await t.store.get(s.id))?.leaseOwner).toBeUndefined();
    expect(t.azure.instances.size).toBe(0);
  });

  it("checks back for ProtectionConfigured without holding a worker, and for a slow validation", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-slowcfg" }));
    t.azure.configuringReads = 2;
    t.azure.validatePollsBeforeDone = 1;
    const delays: number[] = [];

    let outcome = await t.worker.process(event("e1", s.id));
    while (outcome.kind === "requeued") {
      delays.push(outcome.delayInMs);
      outcome = await t.worker.process(t.queue.sent.shift()!.message);
    }

    expect(outcome).toEqual({ kind: "settled", state: "Protected" });
    expect(delays).toEqual([45_000, 45_000, 75_000, 15_000, 15_000]);
    expect(t.azure.count("createBackupInstance")).toBe(1);
  });

  it("gives up on a configuration that never finishes", async () => {
    t = setup({ waitForServerDeadlineInMs: 100_000 });
    const s = t.azure.addGrantedServer(aServer({ name: "pg-stuck" }));
    t.azure.configuringReads = 1_000;

    const outcome = await t.drain(event("e1", s.id));

    expect(outcome).toEqual({ kind: "settled", state: "Failed" });
    expect(await t.store.get(s.id)).toMatchObject({
      lastErrorCode: "ProtectionNotConfigured",
      lastErrorMessage: "Protection was not configured within 2 minutes.",
    });
  });

  it("says which role the app itself lacks when the vault answers 403", async () => {
    const s = t.azure.addServer(aServer({ name: "pg-app403" }));
    const worker = t.workerWith({
      dataProtection: {
        beginValidateForBackup: () =>
          Promise.reject(
            anArmError(403, "AuthorizationFailed", "The client 'app' does not have authorization."),
          ),
      },
    });

    expect(await worker.process(event("e1", s.id))).toEqual({ kind: "settled", state: "Failed" });
    expect(await t.store.get(s.id)).toMatchObject({
      lastErrorCode: "AuthorizationFailed",
      lastErrorMessage:
        "validateForBackup: this app may not act on Backup vault \"bv-weu\": The client 'app' does not have authorization.",
      fix: `az role assignment create --assignee-object-id <app principal id> --assignee-principal-type ServicePrincipal --role "Backup Contributor" --scope ${VAULT_ID}`,
    });
    expect(t.azure.count("listRoles")).toBe(0);
  });

  it("leaves a transient failure to the queue's redelivery when the row cannot be written either", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-429" }));
    t.azure.beforeCreate = () => {
      t.azure.beforeCreate = undefined;
      t.store.update = () => Promise.reject(new RestError("connect ECONNREFUSED", { code: "ECONNREFUSED" }));
      throw anArmError(503, "ServiceUnavailable");
    };

    await t.worker.process(event("e1", s.id));
    await expect(t.worker.process(t.queue.sent.shift()!.message)).rejects.toThrow("ServiceUnavailable");
    expect((await t.store.get(s.id))?.state).toBe("Validating");
    expect(t.queue.sent).toEqual([]);
  });
});

describe("policy changes of a protected server", () => {
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    t = setup();
  });

  /** A server protected with pgflex-weekly; returns it with the ARM calls of that protection forgotten. */
  async function protectedServer(name: string) {
    const s = t.azure.addGrantedServer(aServer({ name }));
    expect(await t.drain(event("e1", s.id))).toEqual({ kind: "settled", state: "Protected" });
    t.azure.calls = [];
    t.audit.entries.length = 0;
    return s;
  }

  it("moves the instance to the policy the changed tag maps to with a PUT of the same instance", async () => {
    const s = await protectedServer("pg-regold");
    const name = backupInstanceName(s.id);
    s.tags = { backup: "gold" };

    const first = await t.worker.process(event("e2", s.id));
    expect(first).toEqual({ kind: "requeued", state: "Configuring", delayInMs: 75_000 });
    const outcome = await t.drain(t.queue.sent.shift()!.message);

    expect(outcome).toEqual({ kind: "settled", state: "Protected" });
    expect(await t.store.get(s.id)).toMatchObject({
      state: "Protected",
      policyName: "pgflex-gold",
      tagValue: "gold",
      instanceName: name,
      vaultId: VAULT_ID,
      attempts: 0,
    });
    expect((await t.store.get(s.id))?.lastErrorCode).toBeUndefined();
    expect(t.azure.instances.size).toBe(1);
    expect(t.azure.instances.get(name)?.policyId).toBe(policyIdOf("pgflex-gold"));
    // The missing policy is created first, as for a creation; nothing is deleted or stopped.
    expect(t.azure.writes().map((c) => `${c.op} ${c.target}`)).toEqual([
      "createPolicy pgflex-gold",
      `createBackupInstance ${name}`,
    ]);
    expect(t.audit.entries.map((e) => `${e.action}: ${e.detail}`)).toEqual([
      "createPolicy: weekly, retention P12W",
      "changeBackupInstancePolicy: policy pgflex-weekly -> pgflex-gold",
      "stateChange: Protected -> Configuring",
      "stateChange: Configuring -> Protected",
    ]);
    expect(t.audit.entries[1]).toMatchObject({
      target: `${VAULT_ID}/backupInstances/${name}`,
      serverId: s.id.toLowerCase(),
      cause: "event:e2",
      mode: "enforce",
    });
  });

  it("waits without holding a worker until the instance shows the new policy", async () => {
    const s = await protectedServer("pg-slowgold");
    t.azure.addPolicy("pgflex-gold");
    s.tags = { backup: "gold" };
    await t.worker.process(event("e2", s.id));
    // The service has not applied the PUT yet: the instance still answers the old policy.
    const name = backupInstanceName(s.id);
    t.azure.setInstancePolicy(name, "pgflex-weekly");

    t.clock.advance(75_000);
    expect(await t.worker.process(t.queue.sent.shift()!.message)).toEqual({
      kind: "requeued",
      state: "Configuring",
      delayInMs: 15_000,
    });
    t.azure.setInstancePolicy(name, "pgflex-gold");
    expect(await t.drain(t.queue.sent.shift()!.message)).toEqual({ kind: "settled", state: "Protected" });
    expect(t.azure.count("createBackupInstance")).toBe(1);
  });

  it("moves an instance whose policy was changed outside the app back when a sweep asks", async () => {
    const s = await protectedServer("pg-drift");
    const name = backupInstanceName(s.id);
    t.azure.addPolicy("pgflex-gold");
    t.azure.setInstancePolicy(name, "pgflex-gold");

    const sweep = createProtectionMessage(s.id, { kind: "sweep", sweepId: "sw1" });
    expect(await t.drain(sweep)).toEqual({ kind: "settled", state: "Protected" });

    expect(t.azure.instances.get(name)?.policyId).toBe(policyIdOf("pgflex-weekly"));
    expect(t.azure.writes().map((c) => c.op)).toEqual(["createBackupInstance"]);
    expect(t.audit.entries.map((e) => e.detail)).toContain("policy pgflex-gold -> pgflex-weekly");
    expect(await t.store.get(s.id)).toMatchObject({ state: "Protected", policyName: "pgflex-weekly" });
  });

  it("reads the instance and writes nothing when its policy is the one the tag asks for", async () => {
    const s = await protectedServer("pg-same");

    expect(await t.worker.process(event("e2", s.id))).toEqual({ kind: "settled", state: "Protected" });

    expect(t.azure.calls.map((c) => c.op)).toEqual(["getServer", "getBackupInstance"]);
    expect(t.queue.sent).toEqual([]);
  });

  it("in report mode records the change it would make and changes nothing in Azure", async () => {
    const s = await protectedServer("pg-report-gold");
    const report = t.workerWith({ settings: { mode: "report" } });
    s.tags = { backup: "gold" };

    expect(await report.process(event("e2", s.id))).toEqual({ kind: "settled", state: "Protected" });

    expect(await t.store.get(s.id)).toMatchObject({
      state: "Protected",
      policyName: "pgflex-weekly",
      tagValue: "gold",
      lastErrorCode: "WouldChangePolicy",
      lastErrorMessage: `Would change the policy of backup instance "${backupInstanceName(s.id)}" in Backup vault "bv-weu" from "pgflex-weekly" to "pgflex-gold".`,
      fix: "Switch PGFLEX_MODE to enforce to apply it, or set the tag back.",
    });
    expect(t.azure.writes()).toEqual([]);
    expect(t.queue.sent).toEqual([]);
    expect(t.audit.entries.map((e) => e.detail)).toEqual(["Protected -> Protected (WouldChangePolicy)"]);
  });

  it("keeps protection with the reason when the vault refuses the change", async () => {
    const s = await protectedServer("pg-refused");
    t.azure.addPolicy("pgflex-gold");
    t.azure.beforeCreate = () => {
      throw anArmError(400, "UserErrorPolicyNotCompatible", "The policy cannot be applied.");
    };
    s.tags = { backup: "gold" };

    expect(await t.worker.process(event("e2", s.id))).toEqual({ kind: "settled", state: "Protected" });

    expect(await t.store.get(s.id)).toMatchObject({
      state: "Protected",
      policyName: "pgflex-weekly",
      lastErrorCode: "UserErrorPolicyNotCompatible",
      lastErrorMessage: `Could not change the policy of backup instance "${backupInstanceName(s.id)}" in Backup vault "bv-weu" from "pgflex-weekly" to "pgflex-gold": The policy cannot be applied.`,
      fix: "Fix the cause named above, then re-tag the server (or run `pgflex-autoprotect protect <server>`) to retry.",
    });
    expect(t.azure.instances.get(backupInstanceName(s.id))?.policyId).toBe(policyIdOf("pgflex-weekly"));
    expect(t.queue.sent).toEqual([]);
  });

  it("keeps protection when the new policy is missing and may not be created", async () => {
    t = setup({ createMissingPolicies: false });
    const s = await protectedServer("pg-nogold");
    s.tags = { backup: "gold" };

    await t.worker.process(event("e2", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "Protected",
      policyName: "pgflex-weekly",
      lastErrorCode: "PolicyNotFound",
      lastErrorMessage: 'Backup policy "pgflex-gold" does not exist in Backup vault "bv-weu".',
    });
    expect(t.azure.writes()).toEqual([]);
  });

  it("does not touch an instance made outside the app and says so", async () => {
    const s = t.azure.addGrantedServer(aServer({ name: "pg-theirs" }));
    t.azure.addInstance("manual-1", s.id, { policyId: policyIdOf("pgflex-weekly") });
    await t.drain(event("e1", s.id));
    t.azure.calls = [];
    s.tags = { backup: "gold" };

    await t.worker.process(event("e2", s.id));

    expect(await t.store.get(s.id)).toMatchObject({
      state: "Protected",
      lastErrorCode: "PolicyChangeNotApplied",
      lastErrorMessage:
        'The "backup" tag now asks for policy "pgflex-gold"; the backup instance keeps policy "pgflex-weekly": it is not this app\'s instance in the region\'s Backup vault.',
    });
    expect(t.azure.writes()).toEqual([]);
  });

  it("protects the server again when its instance has gone and the tag still asks for it", async () => {
    const s = await protectedServer("pg-gone-instance");
    t.azure.instances.clear();

    expect(await t.drain(event("e2", s.id))).toEqual({ kind: "settled", state: "Protected" });

    expect(t.azure.instances.size).toBe(1);
    expect(t.azure.writes().map((c) => c.op)).toEqual(["validateForBackup", "createBackupInstance"]);
  });
});

describe("instances found by validation", () => {
  it("moves this app's own instance found by validation (row lost) to the tag's policy", async () => {
    const t = setup();
    const s = t.azure.addGrantedServer(aServer({ name: "pg-lostrow" }));
    const name = backupInstanceName(s.id);
    t.azure.addPolicy("pgflex-gold");
    t.azure.addInstance(name, s.id, { policyId: policyIdOf("pgflex-gold") });
    const base = t.azure.dataProtectionPort;
    const worker = t.workerWith({
      dataProtection: {
        // As the service words it: the instance is named.
        pollValidateForBackup: async (vaultId, state, options) => {
          try {
            return await base.pollValidateForBackup(vaultId, state, options);
          } catch {
            throw anArmError(
              409,
              "UserErrorDppDatasourceAlreadyProtected",
              `Datasource is already protected by backup instance '${name}' in Backup vault '${VAULT_ID}'.`,
            );
          }
        },
      },
    });

    const outcome = await t.drain(event("e1", s.id), worker);

    expect(outcome).toEqual({ kind: "settled", state: "Protected" });
    expect(await t.store.get(s.id)).toMatchObject({ policyName: "pgflex-weekly", instanceName: name });
    expect(t.azure.instances.get(name)?.policyId).toBe(policyIdOf("pgflex-weekly"));
    expect(t.azure.writes().map((c) => c.op)).toEqual(["validateForBackup", "createBackupInstance"]);
    expect(t.audit.entries.map((e) => e.detail)).toContain("policy pgflex-gold -> pgflex-weekly");
  });

  it("keeps an instance made outside the app marked as not its own when the server is evaluated again", async () => {
    const t = setup();
    const s = t.azure.addGrantedServer(aServer({ name: "pg-notours" }));
    t.azure.addInstance("manual-2", s.id, { policyId: policyIdOf("pgflex-weekly") });
    await t.drain(event("e1", s.id));
    t.azure.calls = [];

    for (const id of ["e2", "e3"]) {
      expect(await t.worker.process(event(id, s.id))).toEqual({ kind: "settled", state: "Protected" });
      expect(await t.store.get(s.id)).toMatchObject({
        lastErrorCode: "ProtectedByAnotherInstance",
        lastErrorMessage:
          "The server is protected by a backup instance this app did not make; this app leaves it as it is.",
      });
    }
    expect(t.azure.calls.map((c) => c.op)).toEqual(["getServer", "getServer"]);
  });
});

describe("protection worker: stopped servers and soft-deleted instances", () => {
  it("parks a stopped server without a lease, a message, a deadline or an alert", async () => {
    const alerter = recordingAlerter();
    const t = setup();
    const s = t.azure.addGrantedServer(aServer({ name: "pg-stopped", state: "Stopped" }));

    const outcome = await t.workerWith({ alerter }).process(event("e1", s.id));

    expect(outcome).toEqual({ kind: "settled", state: "WaitingForServer" });
    const row = await t.store.get(s.id);
    expect(row).toMatchObject({ state: "WaitingForServer", lastErrorCode: "ServerStopped", attempts: 0 });
    expect(row?.fix).toBe(
      `To protect it now, start it: az postgres flexible-server start --ids ${s.id.toLowerCase()}`,
    );
    expect(row?.leaseOwner).toBeUndefined();
    expect(row?.waitingSince).toBeUndefined();
    expect(t.queue.sent).toEqual([]);
    expect(alerter.raised).toEqual([]);
    expect(t.azure.writes()).toEqual([]);
  });

  it("undeletes its own soft-deleted instance, then moves it to the policy the tag asks for", async () => {
    const t = setup();
    const s = t.azure.addGrantedServer(aServer({ name: "pg-undel" }));
    const name = backupInstanceName(s.id);
    t.azure.deleted.set(name, {
      id: `${VAULT_ID}/deletedBackupInstances/${name}`,
      name,
      dataSourceId: s.id,
      policyId: policyIdOf("pgflex-gold"),
    });
    t.azure.addPolicy("pgflex-gold");

    const outcome = await t.drain(event("e1", s.id));

    expect(outcome).toEqual({ kind: "settled", state: "Protected" });
    expect(t.azure.writes().map((c) => c.op)).toEqual([
      "validateForBackup",
      "undeleteBackupInstance",
      "createBackupInstance",
    ]);
    expect(t.azure.instances.get(name)?.policyId).toBe(policyIdOf("pgflex-weekly"));
    expect(await t.store.get(s.id)).toMatchObject({ state: "Protected", policyName: "pgflex-weekly" });
  });

  it("leaves a soft-deleted instance of another server alone and says what holds the name", async () => {
    const t = setup();
    const s = t.azure.addGrantedServer(aServer({ name: "pg-clash" }));
    const name = backupInstanceName(s.id);
    t.azure.deleted.set(name, { id: "", name, dataSourceId: serverId("pg-other") });

    const outcome = await t.drain(event("e1", s.id));

    expect(outcome).toEqual({ kind: "settled", state: "Failed" });
    expect(await t.store.get(s.id)).toMatchObject({
      lastErrorCode: "InstanceNameSoftDeleted",
      lastErrorMessage: `Backup instance name "${name}" is held by a soft-deleted instance of ${serverId("pg-other")}.`,
    });
    expect(t.azure.writes().map((c) => c.op)).toEqual(["validateForBackup"]);
  });
});
