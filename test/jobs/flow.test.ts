import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staticTokenCredential } from "../../dev/emulator/index.js";
import { sliceOf } from "../../dev/emulator/providers/dataprotection/engine.js";
import { createArmClients } from "../../src/lib/azure/clients.js";
import { createAlerter } from "../../src/lib/alerts/alerts.js";
import { createBackupOperations } from "../../src/lib/azure/backupOperations.js";
import { createJobOutcomeHandler } from "../../src/lib/backups/outcomes.js";
import { createJobPoller } from "../../src/lib/jobs/poller.js";
import type { AlertRecord } from "../../src/lib/store/alerts.js";
import type { JobRecord } from "../../src/lib/store/jobs.js";
import {
  aPgFlexPolicy,
  startWorld,
  sub,
  vaultId,
  vaultName,
  vaultRg,
  type DpWorld,
} from "../emulator/dataprotection/helpers.js";
import { useAzurite } from "../support/azurite.js";
import { backupServiceOver } from "../support/backups.js";
import { aServer, aStorage } from "../fixtures/jobs/stores.js";

/** On-demand backups and the poller against the ARM emulator's Data Protection provider (time-scaled). */
const azurite = useAzurite();
let world: DpWorld;

beforeAll(async () => {
  world = await startWorld({ timeScale: 4000 });
  await world.client.backupPolicies.createOrUpdate(vaultRg, vaultName, "pgflex-weekly", aPgFlexPolicy());
});
afterAll(async () => world?.stop());

function setup() {
  const storage = aStorage(azurite.connectionString);
  const clients = createArmClients(
    { armEndpoint: world.emulator.url, armCredential: "emulator", azureClientId: undefined },
    { credential: staticTokenCredential(), tlsOptions: { ca: world.emulator.caCert }, updateIntervalInMs: 5 },
  );
  const gateway = createBackupOperations(clients, { updateIntervalInMs: 5 });
  const published: AlertRecord[] = [];
  const alerter = createAlerter({
    store: storage.alerts,
    publishers: [{ name: "capture", publish: async (a) => void published.push(a) }],
  });
  const backups = backupServiceOver(storage, gateway, [sub]);
  const poller = createJobPoller({
    gateway,
    jobs: storage.jobs,
    activeJobs: storage.activeJobs,
    cursors: storage.cursors,
    knownVaults: async () => [vaultId],
    onFinished: createJobOutcomeHandler({ servers: storage.servers, alerter }),
  });
  /** Polls until the job's row is final (bounded; emulated jobs last well under a second here). */
  const pollUntilDone = async (jobId: string): Promise<JobRecord | undefined> => {
    for (let i = 0; i < 200; i++) {
      await poller.pollOnce();
      const row = await storage.jobs.getById(jobId);
      if (row && row.status !== "InProgress") return row;
      await new Promise((r) => setTimeout(r, 10));
    }
    return storage.jobs.getById(jobId);
  };
  /** The row the app keeps for a server `world.protectServer` protected. */
  const recordProtected = (name: string, serverId: string) =>
    storage.servers.create(
      aServer(name, { resourceId: serverId, instanceName: `${name}-bi`, vaultId: vaultId.toLowerCase() }),
    );
  return { storage, backups, poller, published, pollUntilDone, recordProtected };
}

describe("backups against the emulator", () => {
  it("starts an on-demand backup and follows it to Completed with bytes and duration", async () => {
    const serverId = await world.protectServer("pg-flow-ok");
    const t = setup();
    await t.recordProtected("pg-flow-ok", serverId);

    const started = await t.backups.start(
      { subscriptionId: sub, resourceGroup: "rg-db", serverName: "pg-flow-ok" },
      { origin: "api", retentionTag: "Default" },
    );
    expect(started).toMatchObject({ status: "InProgress", origin: "api", serverId });

    const done = await t.pollUntilDone(started.jobId);
    expect(done).toMatchObject({
      status: "Completed",
      bytesTransferred: 69_088,
      origin: "api",
      retentionTag: "Default",
    });
    expect(done?.durationInMs).toBeGreaterThan(0);
    expect(await t.storage.servers.get(serverId)).toMatchObject({
      lastBackupStatus: "Completed",
      lastJobId: started.jobId,
    });
    expect(t.published).toEqual([]);
  });

  it("records a failed job with its error and raises one alert", async () => {
    const serverId = await world.protectServer("pg-flow-bad");
    world.control.setJobOutcome(serverId, {
      status: "Failed",
      errorCode: "UserErrorMissingRequiredPermissions",
      errorMessage: "The vault lacks a role.",
    });
    const t = setup();
    await t.recordProtected("pg-flow-bad", serverId);

    const started = await t.backups.start(
      { subscriptionId: sub, resourceGroup: "rg-db", serverName: "pg-flow-bad" },
      { origin: "api" },
    );
    const done = await t.pollUntilDone(started.jobId);
    await t.poller.pollOnce();

    expect(done).toMatchObject({ status: "Failed", errorCode: "UserErrorMissingRequiredPermissions" });
    expect(t.published.map((a) => [a.kind, a.jobId])).toEqual([["JobFailed", started.jobId]]);
  });

  it("follows a job the service ends Canceled to its end: row final, no longer followed", async () => {
    const serverId = await world.protectServer("pg-flow-cancel");
    world.control.setJobOutcome(serverId, { status: "Canceled" });
    const t = setup();
    await t.recordProtected("pg-flow-cancel", serverId);

    const started = await t.backups.start(
      { subscriptionId: sub, resourceGroup: "rg-db", serverName: "pg-flow-cancel" },
      { origin: "api" },
    );
    const done = await t.pollUntilDone(started.jobId);
    await t.poller.pollOnce();

    expect(done).toMatchObject({ status: "Canceled", origin: "api" });
    expect(done?.endTime).toBeDefined();
    const followed = [];
    for await (const row of t.storage.activeJobs.list()) followed.push(row.jobId);
    expect(followed).not.toContain(started.jobId);
  });

  it("picks up a policy-scheduled backup it did not start", async () => {
    const serverId = await world.protectServer("pg-flow-policy");
    const t = setup();
    // Make the weekly schedule due: the last scheduled run is pushed back past one period. (The emulator
    // back-dates the caught-up run to its slot; in Azure a scheduled job appears as it starts.)
    const instance = Object.values(sliceOf(world.emulator.core.context).instances).find((i) =>
      JSON.stringify(i.properties).toLowerCase().includes(serverId),
    );
    if (!instance) throw new Error("instance not found in the emulator");
    instance.lastScheduledMs = world.emulator.core.context.clock.now() - 8 * 86_400_000;

    let policyJobs: JobRecord[] = [];
    for (let i = 0; i < 100 && policyJobs.length === 0; i++) {
      await t.poller.pollOnce();
      policyJobs = [];
      for await (const row of t.storage.jobs.list({ serverId }))
        if (row.origin === "policy") policyJobs.push(row);
    }
    expect(policyJobs.length).toBeGreaterThanOrEqual(1);
    expect(policyJobs[0]).toMatchObject({ serverId, origin: "policy", retentionTag: "Default" });
    expect(await t.storage.cursors.get("jobs", vaultId.toLowerCase())).toBeDefined();
  });
});
