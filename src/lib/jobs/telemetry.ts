/** The job figures a team queries: each finished backup job once, by outcome and origin, with its duration. */
import { parseServerId } from "../domain/serverId.js";
import type { JobRecord } from "../store/jobs.js";
import { Metrics, secondsBetween, telemetry } from "../telemetry/index.js";

/** `pgflex.backup.jobs` and `pgflex.backup.job.duration` for jobs that just reached a terminal status. */
export function recordFinishedJobs(jobs: readonly JobRecord[]): void {
  const t = telemetry();
  for (const job of jobs) {
    const outcome = job.status;
    const origin = job.origin;
    t.count(Metrics.backupJobs.name, {
      outcome,
      origin,
      subscription: parseServerId(job.serverId)?.subscriptionId ?? "",
      vault: job.vaultId.toLowerCase(),
      policy: job.policyName ?? "",
    });
    const seconds =
      job.durationInMs !== undefined
        ? job.durationInMs / 1000
        : job.endTime
          ? secondsBetween(job.startTime, job.endTime)
          : undefined;
    if (seconds !== undefined) t.record(Metrics.backupJobDuration.name, seconds, { outcome, origin });
  }
}
