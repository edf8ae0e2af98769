/**
 * The one definition of backup job statuses: which end a job, which mean it succeeded, and how each is spelled.
 * Every comparison is case-insensitive (the service's casing varies between endpoints), and a cancelled job is
 * terminal in both spellings Azure uses: `Cancelled` (the Data Protection spec) and `Canceled` (ARM elsewhere).
 * A status not listed here is kept and shown verbatim; it is not terminal, so the poller keeps following the job.
 */

/** Statuses a job does not leave. `Unknown` is ours (see {@link UNKNOWN_JOB_STATUS}). */
export const TERMINAL_JOB_STATUSES = [
  "Completed",
  "CompletedWithWarnings",
  "Failed",
  "Cancelled",
  "Canceled",
  "Succeeded",
  "SucceededWithWarnings",
  "Unknown",
] as const;

/** Statuses a job is still running in. */
const RUNNING_JOB_STATUSES = ["InProgress", "Started", "Cancelling"] as const;

const SUCCESS_JOB_STATUSES = ["Completed", "CompletedWithWarnings", "Succeeded", "SucceededWithWarnings"];

/**
 * Ours, not the service's: a followed job that the vault answers 404 for (deleted with its vault, or purged).
 * Terminal so nothing keeps following it, but a later sighting of the job replaces it.
 */
export const UNKNOWN_JOB_STATUS = "Unknown";

/** Final statuses that never change again (`Unknown` can: a later sighting replaces it). */
export const FINAL_KNOWN_JOB_STATUSES: readonly string[] = TERMINAL_JOB_STATUSES.filter(
  (status) => status !== UNKNOWN_JOB_STATUS,
);

const KNOWN = [...RUNNING_JOB_STATUSES, ...TERMINAL_JOB_STATUSES.filter((s) => s !== UNKNOWN_JOB_STATUS)];

const has = (list: readonly string[], status: string): boolean => {
  const s = status.toLowerCase();
  return list.some((t) => t.toLowerCase() === s);
};

export function isTerminalJobStatus(status: string): boolean {
  return has(TERMINAL_JOB_STATUSES, status);
}

export function isFinalKnownJobStatus(status: string): boolean {
  return has(FINAL_KNOWN_JOB_STATUSES, status);
}

export function isSuccessJobStatus(status: string): boolean {
  return has(SUCCESS_JOB_STATUSES, status);
}

/** True when the service's status is one this app knows; an unknown one is stored and shown verbatim. */
export function isKnownJobStatus(status: string): boolean {
  return has(KNOWN, status);
}

/** The service's status in one spelling per status (casing only; `Canceled` and `Cancelled` stay as sent). */
export function canonicalJobStatus(status: string): string {
  return KNOWN.find((s) => s.toLowerCase() === status.toLowerCase()) ?? status;
}
