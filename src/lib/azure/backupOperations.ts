/**
 * The Data Protection calls of on-demand backups and the job history: list and read a vault's jobs,
 * start an ad hoc backup, read a policy's backup period. Job listings are filtered by start time when the
 * caller gives one, so a cycle pages only through recent jobs.
 */
import type { ArmClients } from "./clients.js";
import type { BaseBackupPolicyResource } from "./dataprotection/models.js";
import { parseDurationInMs } from "./durations.js";
import { parseVaultId } from "./ids.js";
import { getOrUndefined } from "../util/notFound.js";
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

export type BackupOperationOptions = OperationOptions;

export interface ListBackupJobsOptions extends BackupOperationOptions {
  /** Only jobs that started at or after this time (sent as the listing's start-time filter). */
  startedSince?: Date;
}

export interface StartAdhocBackupOptions extends BackupOperationOptions {
  /** Policy retention tag to keep this backup under (e.g. `Default`, `Weekly`). */
  retentionTag?: string;
}

export interface ProtectedInstance {
  vaultId: string;
  instanceName: string;
  policyName?: string;
}

export interface BackupOperations {
  listJobs(vaultId: string, options?: ListBackupJobsOptions): AsyncIterable<BackupJob>;
  /** The job, or undefined when the service answers 404. */
  getJob(vaultId: string, jobId: string, options?: BackupOperationOptions): Promise<BackupJob | undefined>;
  /** Starts an ad hoc backup and waits until Azure accepted it (the operation returned a job id). */
  startAdhocBackup(
    instance: ProtectedInstance,
    options?: StartAdhocBackupOptions,
  ): Promise<{ jobId: string; jobResourceId?: string }>;
  /** The policy's backup period in ms (e.g. P1W), undefined when unknown. */
  getPolicyPeriodInMs(
    vaultId: string,
    policyName: string,
    options?: BackupOperationOptions,
  ): Promise<number | undefined>;
}

export interface BackupOperationsOptions {
  /** LRO poll interval of the ad hoc backup. */
  updateIntervalInMs?: number;
}

export function createBackupOperations(
  clients: Pick<ArmClients, "dataProtection">,
  options: BackupOperationsOptions = {},
): BackupOperations {
  const policies = new Map<string, Promise<BaseBackupPolicyResource>>();
  const policy = async (
    vaultId: string,
    name: string,
    abortSignal?: AbortSignal,
  ): Promise<BaseBackupPolicyResource> => {
    const key = `${vaultId}/${name}`.toLowerCase();
    let p = policies.get(key);
    if (!p) {
      const v = parseVaultId(vaultId);
      p = clients
        .dataProtection(v.subscriptionId)
        .then((c) => c.backupPolicies.get(v.resourceGroupName, v.vaultName, name, { abortSignal }));
      policies.set(key, p);
      p.catch(() => policies.delete(key));
    }
    return p;
  };

  return {
    async *listJobs(vaultId, listOptions = {}) {
      const v = parseVaultId(vaultId);
      const client = await clients.dataProtection(v.subscriptionId);
      const since = listOptions.startedSince;
      const iter = client.jobs.list(v.resourceGroupName, v.vaultName, {
        abortSignal: listOptions.abortSignal,
        ...(since ? { filter: `startTime ge '${since.toISOString()}'` } : {}),
      });
      for await (const job of iter) yield job as BackupJob;
    },
    async getJob(vaultId, jobId, getOptions = {}) {
      const v = parseVaultId(vaultId);
      const client = await clients.dataProtection(v.subscriptionId);
      return getOrUndefined(
        async () =>
          (await client.jobs.get(v.resourceGroupName, v.vaultName, jobId, {
            abortSignal: getOptions.abortSignal,
          })) as BackupJob,
      );
    },
    async startAdhocBackup(instance, startOptions = {}) {
      const v = parseVaultId(instance.vaultId);
      const client = await clients.dataProtection(v.subscriptionId);
      let ruleName = "BackupWeekly";
      if (instance.policyName) {
        const rule = (
          await policy(instance.vaultId, instance.policyName, startOptions.abortSignal)
        ).properties?.policyRules.find((r) => r.objectType === "AzureBackupRule");
        if (rule) ruleName = rule.name;
      }
      const result = await client.backupInstances.beginAdhocBackupAndWait(
        v.resourceGroupName,
        v.vaultName,
        instance.instanceName,
        {
          backupRuleOptions: {
            ruleName,
            triggerOption: startOptions.retentionTag
              ? { retentionTagOverride: startOptions.retentionTag }
              : {},
          },
        },
        {
          abortSignal: startOptions.abortSignal,
          ...(options.updateIntervalInMs ? { updateIntervalInMs: options.updateIntervalInMs } : {}),
        },
      );
      return { jobId: result.jobId, jobResourceId: result.jobResourceId };
    },
    async getPolicyPeriodInMs(vaultId, policyName, periodOptions = {}) {
      const rules =
        (await policy(vaultId, policyName, periodOptions.abortSignal)).properties?.policyRules ?? [];
      for (const rule of rules) {
        if (
          rule.objectType !== "AzureBackupRule" ||
          rule.trigger.objectType !== "ScheduleBasedTriggerContext"
        )
          continue;
        const interval = rule.trigger.schedule.repeatingTimeIntervals[0]?.split("/").pop();
        const weeks = interval && /^P(\d+)W$/.exec(interval);
        if (weeks) return Number(weeks[1]) * 7 * 86_400_000;
        const ms = parseDurationInMs(interval);
        if (ms) return ms;
      }
      return undefined;
    },
  };
}
