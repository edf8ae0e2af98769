import { ConflictError, ensureError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { jobFailedAlert, staleBackupAlert, type Alerter } from "../alerts/alerts.js";
import { isSuccessJobStatus as isSuccessStatus } from "../domain/jobStatuses.js";
import type { JobRecord, JobStore } from "../store/jobs.js";
import type { ServerRecord, ServerStore } from "../store/servers.js";
import { observeLastSuccess } from "../telemetry/backupAge.js";
import { mapWithConcurrency } from "../util/concurrency.js";
import type { OperationOptions } from "../util/options.js";

export interface JobOutcomeDeps {
  servers: Pick<ServerStore, "get" | "update" | "list">;
  alerter: Alerter;
  logger?: Logger;
  /** Above this many servers in one call, read them with one listing instead of one read each. Default 20. */
  listThreshold?: number;
  concurrency?: number;
}

/**
 * What happens when jobs end: each server row's last-backup fields follow its newest finished job
 * (ETag-guarded, re-read on a lost race), and each failed job raises its one alert.
 */
export function createJobOutcomeHandler(deps: JobOutcomeDeps): (jobs: readonly JobRecord[]) => Promise<void> {
  const logger = deps.logger ?? silentLogger;
  const concurrency = deps.concurrency ?? 8;
  return async (jobs) => {
    await mapWithConcurrency(
      jobs.filter((j) => j.status.toLowerCase() === "failed"),
      concurrency,
      async (job) => {
        try {
          await deps.alerter.raise(jobFailedAlert(job));
        } catch (e) {
          logger.warn(`Could not raise the alert for job ${job.jobId}: ${ensureError(e).message}`);
        }
      },
    );
    const newest = new Map<string, JobRecord>();
    for (const job of jobs) {
      const current = newest.get(job.serverId);
      if (!current || endOf(job) > endOf(current)) newest.set(job.serverId, job);
    }
    // Many at once (a busy cycle): one listing of the table beats a read per server.
    const snapshot = new Map<string, ServerRecord>();
    if (newest.size > (deps.listThreshold ?? 20)) {
      for await (const s of deps.servers.list()) if (newest.has(s.resourceId)) snapshot.set(s.resourceId, s);
    }
    const unrecorded: string[] = [];
    await mapWithConcurrency([...newest.values()], concurrency, async (job) => {
      let server = snapshot.get(job.serverId);
      for (let attempt = 0; attempt < 5; attempt++) {
        server ??= await deps.servers.get(job.serverId);
        if (!server || (server.lastBackupAt && server.lastBackupAt > endOf(job))) return;
        try {
          await deps.servers.update({
            ...server,
            lastBackupAt: endOf(job),
            lastBackupStatus: job.status,
            lastJobId: job.jobId,
            updatedAt: new Date().toISOString(),
          });
          if (isSuccessStatus(job.status)) observeLastSuccess(job.serverId, endOf(job), whereOf(server));
          return;
        } catch (e) {
          if (!(e instanceof ConflictError)) {
            unrecorded.push(`${job.serverId} (${ensureError(e).message})`);
            return;
          }
          server = undefined;
        }
      }
      unrecorded.push(`${job.serverId} (its row kept changing under five attempts)`);
    });
    // The caller keeps the jobs followed and calls again: a lost last-backup would read as a stale backup.
    if (unrecorded.length)
      throw new Error(
        `Could not record the last backup of ${unrecorded.length} server(s): ${unrecorded.slice(0, 3).join("; ")}`,
      );
  };
}

function whereOf(server: ServerRecord): {
  subscription: string;
  region: string;
  vault: string;
  policy: string;
} {
  const { subscriptionId: subscription, region = "", vaultId: vault = "", policyName: policy = "" } = server;
  return { subscription, region, vault, policy };
}

function endOf(job: JobRecord): string {
  return job.endTime ?? job.startTime;
}

export interface StaleCheckDeps {
  servers: Pick<ServerStore, "list">;
  jobs: Pick<JobStore, "latest">;
  alerter: Alerter;
  /** Policy period; default one week (PostgreSQL Flexible Server vaulted backups are weekly). */
  periodInMs?: (vaultId: string, policyName: string) => Promise<number | undefined>;
  graceInMs: number;
  now?: () => Date;
  /**
   * Runs at most this often per process (staleness moves in hours; the poller runs every minute). Default 0:
   * every call. Alerts are deduplicated in the table, so several instances running it is harmless.
   */
  intervalInMs?: number;
}

/** Raises one alert per server whose last successful backup is older than its policy period plus the grace. */
export function createStaleBackupCheck(deps: StaleCheckDeps): {
  run(options?: OperationOptions): Promise<number>;
} {
  const now = deps.now ?? (() => new Date());
  let lastRunAt = Number.NEGATIVE_INFINITY;
  return {
    async run(options = {}) {
      if (now().getTime() - lastRunAt < (deps.intervalInMs ?? 0)) return 0;
      lastRunAt = now().getTime();
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
