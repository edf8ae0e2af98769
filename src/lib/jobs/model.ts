import type { BackupOperations } from "../azure/backupOperations.js";

/** What the poller needs from Azure: list a vault's jobs (paged) and read one. */
export type JobsGateway = Pick<BackupOperations, "listJobs" | "getJob">;
