import type { BackupOperations } from "../azure/backupOperations.js";

/**
 * What the poller needs from Azure: list a vault's jobs (paged) and read one; with Resource Graph, every
 * vault's recent jobs in one query.
 */
export type JobsGateway = Pick<BackupOperations, "listJobs" | "getJob" | "listRecentJobs">;
