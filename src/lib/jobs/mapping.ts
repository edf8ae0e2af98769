import type { JobOrigin, JobRecord } from "../store/jobs.js";
import { canonicalJobStatus } from "../domain/jobStatuses.js";
import { parseServerId } from "../domain/serverId.js";
import { parseJobId } from "./ids.js";
import type { BackupJob } from "../azure/backupOperations.js";
import { parseDurationInMs } from "../azure/durations.js";

/** True for backup jobs of PostgreSQL Flexible Servers: the only jobs the history holds. */
export function isServerBackupJob(job: BackupJob): boolean {
  const p = job.properties;
  if (!p) return false;
  const category = (p.operationCategory ?? "Backup").toLowerCase();
  return category === "backup" && parseServerId(p.dataSourceId) !== undefined;
}

/** What Azure says about a job, as history fields (no origin: that is ours to know). */
export function observeJob(
  job: BackupJob,
  vaultId: string,
): Omit<JobRecord, "origin" | "updatedAt" | "etag"> | undefined {
  const properties = job.properties;
  const parsed = parseJobId(job.id ?? "") ?? parseJobId(job.name ?? "");
  const server = properties ? parseServerId(properties.dataSourceId) : undefined;
  if (!properties || !parsed || !server) return undefined;
  const status = canonicalJobStatus(properties.status);
  const firstError = properties.errorDetails?.[0];
  const endTime = properties.endTime ?? undefined;
  // The service reports `PT0S` until it fills the duration in; the end time is then the better source.
  const reported = parseDurationInMs(properties.duration);
  const durationInMs =
    reported || !endTime ? reported : new Date(endTime).getTime() - new Date(properties.startTime).getTime();
  const bytes = properties.extendedInfo?.dataTransferredInBytes;
  const retentionTag = properties.extendedInfo?.additionalDetails?.["RetentionTag"];
  return {
    jobId: parsed.jobId,
    ...(job.id ? { jobResourceId: job.id } : {}),
    serverId: server.resourceId,
    serverName: server.serverName,
    vaultId: (parsed.vaultId ?? vaultId).toLowerCase(),
    ...(properties.backupInstanceId ? { instanceName: properties.backupInstanceId.split("/").pop() } : {}),
    ...(properties.policyName ? { policyName: properties.policyName } : {}),
    ...(properties.operation ? { operation: properties.operation } : {}),
    status,
    startTime: new Date(properties.startTime).toISOString(),
    ...(endTime ? { endTime: new Date(endTime).toISOString() } : {}),
    ...(durationInMs !== undefined && (endTime || durationInMs > 0) ? { durationInMs } : {}),
    ...(typeof bytes === "number" ? { bytesTransferred: bytes } : {}),
    ...(firstError?.code ? { errorCode: firstError.code } : {}),
    ...(firstError?.message ? { errorMessage: firstError.message } : {}),
    ...(firstError?.recommendedAction?.length
      ? { recommendedAction: firstError.recommendedAction.join(" ") }
      : {}),
    ...(retentionTag ? { retentionTag } : {}),
  };
}

export function originOf(job: BackupJob): JobOrigin {
  return job.properties?.isUserTriggered ? "external" : "policy";
}
