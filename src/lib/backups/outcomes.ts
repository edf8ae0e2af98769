import { ConflictError, ensureError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { jobFailedAlert, staleBackupAlert, type Alerter } from "../alerts/alerts.js";
import { isSuccessStatus, type JobRecord, type JobStore } from "../store/jobs.js";
import type { ServerStore } from "../store/servers.js";

export interface JobOutcomeDeps {
  servers: Pick<ServerStore, "get" | "update">;
  alerter: Alerter;
  logger?: Logger;
}

/**
 * What happens when a job ends: the server row's last-backup fields follow the newest finished job
 * (ETag-guarded, re-read on a lost race), and a failed job raises its one alert.
 */
export function createJobOutcomeHandler(deps: JobOutcomeDeps): (job: JobRecord) => Promise<void> {
  const logger = deps.logger ?? silentLogger;
  return async (job) => {
    if (job.status.toLowerCase() === "failed") await deps.alerter.raise(jobFailedAlert(job));
    const at = job.endTime ?? job.startTime;
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = await deps.servers.get(job.serverId);
      if (!server || (server.lastBackupAt && server.lastBackupAt > at)) return;
      try {
        await deps.servers.update({
          ...server,
          lastBackupAt: at,
          lastBackupStatus: job.status,
          lastJobId: job.jobId,
          updatedAt: new Date().toISOString(),
        });
        return;
      } catch (e) {
        if (!(e instanceof ConflictError)) {
          logger.warn(`Could not record the last backup of ${job.serverId}: ${ensureError(e).message}`);
          return;
        }
      }
    }
  };
}

export interface StaleCheckDeps {
  servers: Pick<ServerStore, "list">;
  jobs: Pick<JobStore, "latest">;
  alerter: Alerter;
  /** Policy period; default one week (PostgreSQL Flexible Server vaulted backups are weekly). */
  periodInMs?: (vaultId: string, policyName: string) => Promise<number | undefined>;
  graceInMs: number;
  now?: () => Date;
}

/** Raises one alert per server whose last successful backup is older than its policy period plus the grace. */
export function createStaleBackupCheck(deps: StaleCheckDeps): {
  run(options?: { abortSignal?: AbortSignal }): Promise<number>;
} {
  const now = deps.now ?? (() => new Date());
  return {
    async run(options = {}) {
      let raised = 0;
      for await (const server of deps.servers.list({ state: "Protected", ...options })) {
        const period =
          (server.vaultId && server.policyName
            ? await deps.periodInMs?.(server.vaultId, server.policyName).catch(() => undefined)
            : undefined) ?? 7 * 86_400_000;
        const limit = period + deps.graceInMs;
        const last = await deps.jobs.latest(server.resourceId, { successfulOnly: true, ...options });
        const lastSuccess =
          last && isSuccessStatus(last.status) ? (last.endTime ?? last.startTime) : undefined;
        // Without any success on record, protection start (the row's last write) is the reference.
        const reference =
          lastSuccess ??
          (server.lastBackupStatus && isSuccessStatus(server.lastBackupStatus)
            ? server.lastBackupAt
            : undefined) ??
          server.updatedAt;
        if (now().getTime() - new Date(reference).getTime() <= limit) continue;
        if (
          await deps.alerter.raise(
            staleBackupAlert(server.resourceId, server.serverName, lastSuccess, limit),
            options,
          )
        )
          raised++;
      }
      return raised;
    },
  };
}
