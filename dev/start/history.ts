import { randomUUID } from "node:crypto";
import { backupInstanceName } from "../../src/lib/protection/naming.js";
import { unsupportedForBackup, type BackupSupportFacts } from "../../src/lib/domain/backupSupport.js";
import { normalizeRegion } from "../../src/lib/domain/region.js";
import type { EmulatorSeed } from "../emulator/index.js";
import type { Estate } from "./estate.js";
import type { JobRecord } from "../emulator/providers/dataprotection/state.js";

const HOUR = 3_600_000;
const WEEK = 7 * 24 * HOUR;

/** A finished scheduled backup job, stored as the emulator's Data Protection provider stores any job. */
export type DemoJob = JobRecord & {
  operation: "ScheduledBackup";
  isUserTriggered: false;
  retentionTag: "Default";
  status: "Completed" | "Failed";
};

/**
 * Past weeks of scheduled backups in the vaults, for the servers the app will protect, so the first sweep and
 * the dashboard see a history as in a real estate: one vaulted backup a week (Azure's limit for PG Flexible),
 * four weeks of it for `gold` (the long-term-retention policy), two for `weekly`, and one failure on
 * catalog-db. The newest is a week (and a few hours) old, so this week's backup is still to come and the
 * story's on-demand backup is the week's first. They live in the emulator like any job; the app's job poller
 * imports them into its history. The backup instance names are the ones the app will use (deterministic),
 * so the jobs line up.
 */
export function demoJobHistory(estate: Estate, now: Date = new Date()): DemoJob[] {
  const jobs: DemoJob[] = [];
  (estate.seed.servers ?? []).forEach((server, index) => {
    const tag = Object.entries(server.tags ?? {})
      .find(([k]) => k.toLowerCase() === "backup")?.[1]
      ?.toLowerCase();
    const vaultId = estate.vaultMap[normalizeRegion(server.location)];
    if (!vaultId || !server.subscriptionId || !server.resourceGroupName || !server.name) return;
    if ((tag !== "gold" && tag !== "weekly") || server.state === "Provisioning") return;
    if (server.name.includes("legacy") || server.resourceGroupName.includes("analytics")) return;
    // A read replica or a server over 1 TB: Azure Backup cannot protect it, so it has no history.
    const properties = (server.properties ?? {}) as BackupSupportFacts;
    if (unsupportedForBackup({ ...properties, storageSizeGB: server.storageSizeGB })) return;
    const serverId = `/subscriptions/${server.subscriptionId.toLowerCase()}/resourceGroups/${server.resourceGroupName}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${server.name}`;
    const instanceName = backupInstanceName(serverId);
    const policyName = tag === "gold" ? "pgflex-gold" : "pgflex-weekly";
    const weeks = tag === "gold" ? [4, 3, 2, 1] : [2, 1];
    for (const week of weeks) {
      const startMs = now.getTime() - week * WEEK - (2 + (index % 5)) * HOUR;
      const durationInMs = (8 + ((index * 7 + week * 3) % 13)) * 60_000;
      const failed = server.name === "catalog-db" && week === 1;
      const guid = randomUUID();
      jobs.push({
        id: `${vaultId}/backupJobs/${guid}`,
        name: guid,
        vaultKey: vaultId.toLowerCase(),
        instanceKey: `${vaultId}/backupInstances/${instanceName}`.toLowerCase(),
        instanceName,
        friendlyName: server.name,
        datasourceId: serverId,
        datasourceLocation: server.location,
        datasourceName: server.name,
        datasourceType: "Microsoft.DBforPostgreSQL/flexibleServers",
        sourceResourceGroup: server.resourceGroupName,
        sourceSubscriptionId: server.subscriptionId.toLowerCase(),
        policyId: `${vaultId}/backupPolicies/${policyName}`,
        policyName,
        operation: "ScheduledBackup",
        isUserTriggered: false,
        retentionTag: "Default",
        activityId: randomUUID(),
        startMs,
        endMs: startMs + durationInMs,
        status: failed ? "Failed" : "Completed",
        outcome: failed
          ? {
              status: "Failed",
              errorCode: "UserErrorBackupFailed",
              errorMessage: "The backup of the database failed: the server was restarting.",
            }
          : { status: "Completed" },
        dataTransferredInBytes: failed ? 0 : (64 + index * 32) * 1024 * 1024,
      });
    }
  });
  return jobs;
}

/** The seed with `jobs` added to the Data Protection slice (the seed itself is left unchanged). */
export function withJobHistory(seed: EmulatorSeed, jobs: readonly DemoJob[]): EmulatorSeed {
  const slice = { ...((seed.providers?.["dataprotection"] ?? {}) as { jobs?: Record<string, unknown> }) };
  slice.jobs = { ...(slice.jobs ?? {}), ...Object.fromEntries(jobs.map((j) => [j.id.toLowerCase(), j])) };
  return { ...seed, providers: { ...(seed.providers ?? {}), dataprotection: slice } };
}
