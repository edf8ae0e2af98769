import type { OperationOptions } from "../util/options.js";

/**
 * The slice of a Data Protection job (`AzureBackupJobResource`, api-version 2024-04-01) the poller reads.
 * Structural, so the app's client, the official SDK and test fakes all fit.
 */
export interface BackupJobError {
  code?: string;
  message?: string;
  recommendedAction?: string[];
}

export interface BackupJob {
  id?: string;
  name?: string;
  properties?: {
    dataSourceId: string;
    dataSourceName?: string;
    dataSourceType?: string;
    operationCategory?: string;
    operation?: string;
    status: string;
    startTime: string;
    endTime?: string | null;
    duration?: string | null;
    isUserTriggered?: boolean;
    policyName?: string | null;
    backupInstanceId?: string | null;
    backupInstanceFriendlyName?: string;
    errorDetails?: BackupJobError[] | null;
    extendedInfo?: {
      dataTransferredInBytes?: number | null;
      additionalDetails?: Record<string, string> | null;
    } | null;
  };
}

export type JobsGatewayOptions = OperationOptions;

export interface ListBackupJobsOptions extends JobsGatewayOptions {
  /** Only jobs that started at or after this time (sent as the listing's start-time filter). */
  startedSince?: Date;
}

/** What the poller needs from Azure: list a vault's jobs (paged) and read one. */
export interface JobsGateway {
  listJobs(vaultId: string, options?: ListBackupJobsOptions): AsyncIterable<BackupJob>;
  /** The job, or undefined when the service answers 404. */
  getJob(vaultId: string, jobId: string, options?: JobsGatewayOptions): Promise<BackupJob | undefined>;
}
