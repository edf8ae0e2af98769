import { randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { createJobStore, type JobRecord } from "../../src/lib/store/jobs.js";
import type { Estate } from "./estate.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Seven days of scheduled (policy) backup jobs for the demo estate's protectable servers, so the dashboard's
 * job timeline has a history on first start: daily for `gold`, weekly for `weekly`, one recent failure.
 * These rows are written to the jobs table only; the emulator knows nothing of them (they are finished).
 */
export function demoJobHistory(estate: Estate, now: Date = new Date()): JobRecord[] {
  const jobs: JobRecord[] = [];
  const servers = estate.seed.servers ?? [];
  servers.forEach((server, index) => {
    const tag = Object.entries(server.tags ?? {})
      .find(([k]) => k.toLowerCase() === "backup")?.[1]
      ?.toLowerCase();
    const vaultId = estate.vaultMap[server.location.toLowerCase()];
    if (!vaultId || !server.subscriptionId || !server.resourceGroupName || !server.name) return;
    if ((tag !== "gold" && tag !== "weekly") || server.state === "Provisioning") return;
    if (server.name.includes("legacy") || server.resourceGroupName.includes("analytics")) return;
    const serverId =
      `/subscriptions/${server.subscriptionId}/resourceGroups/${server.resourceGroupName}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${server.name}`.toLowerCase();
    const days = tag === "gold" ? [6, 5, 4, 3, 2, 1] : [1 + (index % 6)];
    for (const day of days) {
      const start = new Date(now.getTime() - day * DAY - (2 + (index % 5)) * HOUR);
      const durationInMs = (8 + ((index * 7 + day * 3) % 13)) * 60_000;
      const failed = server.name === "catalog-db" && day === 1;
      jobs.push({
        jobId: randomUUID(),
        serverId,
        serverName: server.name,
        vaultId: vaultId.toLowerCase(),
        policyName: tag === "gold" ? "pgflex-gold" : "pgflex-weekly",
        operation: "Backup",
        origin: "policy",
        status: failed ? "Failed" : "Completed",
        startTime: start.toISOString(),
        endTime: new Date(start.getTime() + durationInMs).toISOString(),
        durationInMs,
        ...(failed
          ? {
              errorCode: "UserErrorBackupFailed",
              errorMessage: "The backup of the database failed: the server was restarting.",
              recommendedAction: "Retry the backup once the server is Ready.",
            }
          : { bytesTransferred: (64 + index * 32) * 1024 * 1024 }),
        updatedAt: now.toISOString(),
      });
    }
  });
  return jobs;
}

export async function seedJobHistory(connectionString: string, jobs: readonly JobRecord[]): Promise<void> {
  const store = createJobStore({
    tableClient: (name) =>
      TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: true }),
    queueClient: () => {
      throw new Error("The job history seed uses no queue.");
    },
  });
  await store.saveAll(jobs);
}
