import type { ProtectedInstance, StartAdhocBackupOptions } from "../azure/backupOperations.js";
import type { JobsGateway } from "../jobs/model.js";
import type { OperationOptions } from "../util/options.js";

/** What on-demand backups need from Azure (`src/lib/azure/backupOperations.ts`); the job reads are the poller's. */
export interface BackupGateway extends JobsGateway {
  /** Starts an ad hoc backup and waits until Azure accepted it (the operation returned a job id). */
  startAdhocBackup(
    instance: ProtectedInstance,
    options?: StartAdhocBackupOptions,
  ): Promise<{ jobId: string; jobResourceId?: string }>;
  /** The policy's backup period in ms (e.g. P1W), undefined when unknown. */
  getPolicyPeriodInMs?(
    vaultId: string,
    policyName: string,
    options?: OperationOptions,
  ): Promise<number | undefined>;
}
