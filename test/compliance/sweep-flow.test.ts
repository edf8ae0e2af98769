/**
 * Compliance sweeps end to end: an estate in the ARM emulator with one server in each class, inventoried
 * with ARM lists and with Resource Graph, swept in enforce and report mode; remediation lands on the real
 * protection queue (Azurite), the report and its diff in the sweep tables.
 */
import { QueueServiceClient, type QueueClient } from "@azure/storage-queue";
import { beforeEach, describe, expect, it } from "vitest";
import { createArmClients } from "../../src/lib/azure/clients.js";
import { createApp } from "../../src/lib/app.js";
import type { Config } from "../../src/lib/config/index.js";
import { parseServerId } from "../../src/lib/domain/serverId.js";
import { createStorageConnection } from "../../src/lib/store/connection.js";
import { createServerStore } from "../../src/lib/store/servers.js";
import type { SweepRow } from "../../src/lib/store/sweeps.js";
import { loadConfig } from "../../src/lib/config/index.js";
import { useAzurite } from "../support/azurite.js";
import { useEmulator } from "../support/emulator.js";
import {
  DAY,
  SUB,
  SUB_DENIED,
  VAULT,
  complianceEstate,
  expectedClasses,
  instance,
  job,
  serverId,
} from "../fixtures/compliance/emulatorEstate.js";

const azurite = useAzurite();
const emulator = useEmulator(() => ({ seed: complianceEstate(Date.now()), pageSize: 3 }));

async function appFor(env: Record<string, string>, pacing: Record<string, number> = {}) {
  const config = loadConfig({
    AzureWebJobsStorage: azurite.connectionString,
    PGFLEX_ARM_ENDPOINT: emulator.url,
    PGFLEX_ARM_CREDENTIAL: "emulator",
    PGFLEX_SCOPES: SUB,
    PGFLEX_POLICY_MAP: "weekly=pgflex-weekly,gold=pgflex-gold",
    ...env,
  });
  const clients = createArmClients(config, {
    tlsOptions: { ca: emulator.caCert },
    pacing: { retryDelayInMs: 1, maxTransientRetries: 1, ...pacing },
  });
  const app = await createApp(config, { clients, logger: { debug() {}, info() {}, warn() {}, error() {} } });
  return app.compliance;
}

function protectQueue(): QueueClient {
  return QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient("protect-requests");
}

async function queuedProtections(): Promise<Array<{ resourceId: string; cause: unknown }>> {
  const q = protectQueue();
  if (!(await q.exists())) return [];
  const { peekedMessageItems } = await q.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems
    .map(
      (m) =>
        JSON.parse(Buffer.from(m.messageText, "base64").toString("utf8")) as {
          resourceId: string;
          cause: unknown;
        },
    )
    .map(({ resourceId, cause }) => ({ resourceId, cause }))
    .sort((a, b) => a.resourceId.localeCompare(b.resourceId));
}

const byName = (rows: readonly SweepRow[]) =>
  Object.fromEntries(
    rows
      .map((r) => [r.serverId.split("/").pop(), r.class])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  );
const sorted = (o: Record<string, string>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

describe("compliance sweep against the emulator", () => {
  beforeEach(async () => {
    if (await protectQueue().exists()) await protectQueue().clearMessages();
  });

  let firstSweepId = "";

  it("classifies one server of each class with ARM lists and enqueues protection for TaggedUnprotected and WrongPolicy", async () => {
    const app = await appFor({ PGFLEX_MODE: "enforce" });
    const { summary, rows } = await app.sweeper.runSweep({ cause: "test" });
    firstSweepId = summary.id;
    expect(byName(rows)).toEqual(sorted(expectedClasses));
    expect(rows.find((r) => r.serverId.endsWith("/pg-failed"))?.reason).toBe(
      "Backup instance pg-failed-bi of pg-failed is in error (UserErrorMissingRequiredPermissions): The vault identity lacks Reader on the server.",
    );
    expect(summary).toMatchObject({
      status: "Partial",
      inventory: "arm",
      total: 11,
      compliancePercent: 55.6,
      remediation: { enqueued: 2, wouldEnqueue: 0, failed: 0 },
      failureCount: 1,
    });
    expect(summary.failures[0]).toMatchObject({
      scope: "server",
      code: "MalformedTags",
      target: serverId("pg-malformed").toLowerCase(),
    });
    expect(await queuedProtections()).toEqual([
      { resourceId: serverId("pg-unprotected").toLowerCase(), cause: { kind: "sweep", sweepId: summary.id } },
      { resourceId: serverId("pg-wrong").toLowerCase(), cause: { kind: "sweep", sweepId: summary.id } },
    ]);
    // The report is stored: GET latest returns this sweep.
    expect(await app.sweeper.latestSweep()).toMatchObject({
      id: summary.id,
      total: 11,
      counts: summary.counts,
    });
  });

  it("classifies the same with Resource Graph, and a dry run changes nothing", async () => {
    const app = await appFor({ PGFLEX_MODE: "enforce", PGFLEX_USE_RESOURCE_GRAPH: "true" });
    await emulator.control.clearRequests();
    const { summary, rows } = await app.sweeper.runSweep({ dryRun: true });
    expect(byName(rows)).toEqual(sorted(expectedClasses));
    expect(summary).toMatchObject({
      inventory: "resourceGraph",
      dryRun: true,
      remediation: { enqueued: 0, wouldEnqueue: 2, failed: 0 },
      previousSweepId: firstSweepId,
      diff: { changed: 0, added: 0, removed: 0, becameCompliant: 0, drifted: 0 },
    });
    expect(await queuedProtections()).toEqual([]);
    const requests = await emulator.control.getRequests();
    const graph = requests.filter((r) => /Microsoft.ResourceGraph/i.test(r.path));
    // servers, vaults, instances, every vault's jobs: one page each (11 servers < 1,000 rows)
    expect(graph.length).toBe(4);
    expect(requests.filter((r) => /\/backupJobs$/i.test(r.path.split("?")[0] ?? ""))).toEqual([]);
  });

  it("reports what became compliant and what drifted in report mode", async () => {
    // The worker protected pg-unprotected and it was backed up; pg-protected stopped getting backups.
    const dp = emulator.core.state.slice("dataprotection", () => ({})) as {
      instances: Record<string, unknown>;
      jobs: Record<string, { endMs: number; startMs: number }>;
    };
    const added = instance("pg-unprotected");
    dp.instances[added.id.toLowerCase()] = added;
    const fresh = job("pg-unprotected", "00000000-0000-0000-0000-000000000009", Date.now() - DAY);
    dp.jobs[fresh.id.toLowerCase()] = fresh;
    const old = dp.jobs[`${VAULT}/backupJobs/00000000-0000-0000-0000-000000000001`.toLowerCase()]!;
    old.endMs = Date.now() - 30 * DAY;
    old.startMs = old.endMs - 60_000;

    const app = await appFor({ PGFLEX_MODE: "report" });
    const { summary, rows } = await app.sweeper.runSweep();
    expect(rows.find((r) => r.serverId.endsWith("/pg-unprotected"))).toMatchObject({
      class: "Protected",
      previousClass: "TaggedUnprotected",
    });
    expect(summary.diff).toMatchObject({
      becameCompliant: 1,
      drifted: 1,
      changed: 2,
      becameCompliantServers: [
        { serverId: serverId("pg-unprotected").toLowerCase(), from: "TaggedUnprotected", to: "Protected" },
      ],
      driftedServers: [
        { serverId: serverId("pg-protected").toLowerCase(), from: "Protected", to: "ProtectedStale" },
      ],
    });
    expect(summary.remediation).toEqual({ enqueued: 0, wouldEnqueue: 1, failed: 0 });
    expect(await queuedProtections()).toEqual([]);
  });

  it("degrades to partial results under throttling, listing it and classifying only what it saw", async () => {
    await emulator.control.setThrottling({ reads: { burst: 3, perSecond: 0.001 } });
    try {
      const app = await appFor({ PGFLEX_MODE: "enforce" }, { maxThrottleRetries: 0, maxRetryDelayInMs: 1 });
      const { summary, rows } = await app.sweeper.runSweep();
      expect(summary.status).toBe("Partial");
      expect(summary.failures.map((f) => f.code)).toContain("SubscriptionRequestsThrottled");
      // Whatever it saw is classified as it is; nothing is called Deleted or unprotected on missing data.
      expect(
        rows.filter((r) =>
          ["Deleted", "TaggedUnprotected", "Untagged", "ProtectedElsewhere"].includes(r.class),
        ),
      ).toEqual([]);
      expect(rows.filter((r) => r.reason.includes("No Backup vault serves"))).toEqual([]);
      expect(await queuedProtections()).toEqual(
        rows
          .filter((r) => r.class === "WrongPolicy")
          .map((r) => ({ resourceId: r.serverId, cause: { kind: "sweep", sweepId: summary.id } })),
      );
    } finally {
      await emulator.control.setThrottling({ reads: { burst: 250, perSecond: 25 } });
    }
  });

  it("degrades to partial results when a subscription fails and a mapped vault is missing, never misclassifying", async () => {
    await emulator.control.setFaults({ rules: [{ pathContains: SUB_DENIED, errorRate500: 1 }] });
    try {
      const missing = `/subscriptions/${SUB}/resourceGroups/rg-backup/providers/Microsoft.DataProtection/backupVaults/bv-missing`;
      const app = await appFor({
        PGFLEX_MODE: "enforce",
        PGFLEX_SCOPES: `${SUB},${SUB_DENIED}`,
        PGFLEX_VAULT_MAP: `northeurope=${missing}`,
      });
      const { summary, rows } = await app.sweeper.runSweep();
      expect(summary.status).toBe("Partial");
      const failures = summary.failures.map((f) => [f.scope, f.target, f.code]);
      expect(failures).toContainEqual(["subscription", SUB_DENIED, "InternalServerError"]);
      expect(failures).toContainEqual(["vault", missing.toLowerCase(), "ResourceNotFound"]);
      // With a vault unread, "no instance" is not a fact: nothing is enqueued for it and no one is called Untagged.
      expect(byName(rows)["pg-untagged"]).toBe("Unclassified");
      expect(byName(rows)["pg-protected"]).toBe("ProtectedStale");
      expect(byName(rows)["pg-wrong"]).toBe("WrongPolicy");
      expect((await queuedProtections()).map((m) => m.resourceId)).toEqual([
        serverId("pg-wrong").toLowerCase(),
      ]);
      // An instance seen in an unmanaged vault is not "elsewhere" while a managed vault could not be read.
      expect(rows.find((r) => r.serverId.endsWith("/pg-elsewhere"))).toMatchObject({
        class: "Unclassified",
        reason:
          "Could not tell whether pg-elsewhere is protected: the Backup vaults of a subscription could not be listed; vault bv-missing could not be read.",
      });
    } finally {
      await emulator.control.clearFaults();
    }
  });
});

describe("a sweep and a server the worker could not protect because it was not Ready", () => {
  it("leaves it alone while it is stopped and enqueues protection once the inventory shows it Ready", async () => {
    if (await protectQueue().exists()) await protectQueue().clearMessages();
    const server = await emulator.control.createServer({
      subscriptionId: SUB,
      resourceGroupName: "rg-db",
      name: "pg-was-stopped",
      location: "westeurope",
      state: "Stopped",
      tags: { backup: "weekly" },
    });
    const id = server.id.toLowerCase();
    const parts = parseServerId(id)!;
    await createServerStore(
      createStorageConnection({ storageConnection: azurite.connectionString } as Config),
    ).create({
      ...parts,
      state: "Failed",
      lastErrorCode: "ServerNotReady",
      lastErrorMessage: "The server was not Ready within 120 minutes (state: Stopped).",
      attempts: 0,
      updatedAt: new Date().toISOString(),
    });
    const app = await appFor({ PGFLEX_MODE: "enforce" });

    const stopped = await app.sweeper.runSweep({ cause: "test" });
    expect(stopped.rows.find((r) => r.serverId === id)).toMatchObject({ class: "ProtectionFailed" });
    expect((await queuedProtections()).map((m) => m.resourceId)).not.toContain(id);

    await emulator.control.setServerState(server.id, "Ready");
    const ready = await app.sweeper.runSweep({ cause: "test" });

    expect(ready.rows.find((r) => r.serverId === id)).toMatchObject({ remediation: "enqueued" });
    expect(await queuedProtections()).toContainEqual({
      resourceId: id,
      cause: { kind: "sweep", sweepId: ready.summary.id },
    });
  });
});
