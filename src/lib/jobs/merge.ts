import { UNKNOWN_JOB_STATUS, isTerminalJobStatus as isTerminalStatus } from "../domain/jobStatuses.js";
import type { JobRecord } from "../store/jobs.js";

type Observed = Omit<JobRecord, "origin" | "updatedAt" | "etag">;

const OBSERVED_FIELDS = [
  "jobResourceId",
  "instanceName",
  "policyName",
  "operation",
  "status",
  "endTime",
  "durationInMs",
  "bytesTransferred",
  "errorCode",
  "errorMessage",
  "recommendedAction",
] as const;

/**
 * Folds what Azure says now into the stored row. A terminal status is never replaced by a non-terminal
 * one (a slower poller holding an older answer cannot undo a newer one), and fields only we know
 * (origin, reason, requester, schedule, start time that fixes the key) are kept. Returns undefined when
 * nothing changed, so unchanged rows are not rewritten. `Unknown` (a job the vault no longer knows) is the
 * exception both ways: it never replaces another final status, and anything the service says replaces it.
 */
export function mergeJob(existing: JobRecord, observed: Observed, now: Date): JobRecord | undefined {
  const existingUnknown = existing.status === UNKNOWN_JOB_STATUS;
  if (observed.status === UNKNOWN_JOB_STATUS && isTerminalStatus(existing.status)) return undefined;
  if (isTerminalStatus(existing.status) && !existingUnknown && !isTerminalStatus(observed.status))
    return undefined;
  const next: JobRecord = { ...existing };
  let changed = false;
  if (existingUnknown && observed.status !== UNKNOWN_JOB_STATUS) {
    // The job is back: what we wrote about its absence no longer holds.
    delete next.errorCode;
    delete next.errorMessage;
    delete next.recommendedAction;
    delete next.endTime;
  }
  for (const field of OBSERVED_FIELDS) {
    const value = observed[field];
    if (value !== undefined && value !== existing[field]) {
      (next as unknown as Record<string, unknown>)[field] = value;
      changed = true;
    }
  }
  if (!existing.retentionTag && observed.retentionTag) {
    next.retentionTag = observed.retentionTag;
    changed = true;
  }
  if (!changed) return undefined;
  next.updatedAt = now.toISOString();
  return next;
}
