/**
 * The Data Protection calls of on-demand backups and the job history: list and read a vault's jobs,
 * start an ad hoc backup, read a policy's backup period. The job list has no `$filter` (the spec gives it no
 * query parameter but `api-version`): it is read whole and cut off by start time here; with Resource Graph
 * (`PGFLEX_USE_RESOURCE_GRAPH`) recent jobs of many vaults come from one query instead ({@link
 * BackupOperations.listRecentJobs}).
 */
import type { ArmClients } from "./clients.js";
import type { BaseBackupPolicyResource } from "./dataprotection/models.js";
import { parseDurationInMs } from "./durations.js";
import { parseVaultId } from "./ids.js";
import { createResourceGraphQuery } from "./inventory/armReaders.js";
import { cutOffAndDeduplicate, queryJobsByVault } from "./inventory/jobs.js";
import type { ResourceGraphQuery } from "./inventory/types.js";
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
  /**
   * Only jobs that started at or after this time. Cut off client-side: every page of the vault's list is
   * still read, since the list takes no filter and its order is not specified.
   */
  startedSince?: Date;
}

/** One vault's part of {@link BackupOperations.listRecentJobs}: its jobs started since `startedSince`. */
export interface RecentJobsRequest {
  vaultId: string;
  /** Undefined: the vault's whole history. */
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
  /** Every job of the vault (all pages), each once, those started before `startedSince` left out. */
  listJobs(vaultId: string, options?: ListBackupJobsOptions): AsyncIterable<BackupJob>;
  /**
   * Recent jobs of several vaults in one Resource Graph query (jobs of vaults not asked for are left out),
   * keyed by lower-cased vault id; present only when the app uses Resource Graph. Resource Graph can lag
   * behind the vault by minutes: callers read a job they follow but do not find with {@link getJob}.
   */
  listRecentJobs?(
    requests: readonly RecentJobsRequest[],
    options?: BackupOperationOptions,
  ): Promise<Map<string, BackupJob[]>>;
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
  /**
   * Read recent jobs through Resource Graph (`PGFLEX_USE_RESOURCE_GRAPH`, as the inventory does): needs the
   * clients' `resourceGraph`, or a `resourceGraph` query of its own.
   */
  useResourceGraph?: boolean;
  resourceGraph?: ResourceGraphQuery;
}

export function createBackupOperations(
  clients: Pick<ArmClients, "dataProtection"> & Partial<Pick<ArmClients, "resourceGraph">>,
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

  const graph =
    options.resourceGraph ??
    (options.useResourceGraph && clients.resourceGraph
      ? createResourceGraphQuery({ resourceGraph: clients.resourceGraph })
      : undefined);
  return {
    async *listJobs(vaultId, listOptions = {}) {
      const v = parseVaultId(vaultId);
      const client = await clients.dataProtection(v.subscriptionId);
      const pages = client.jobs.list(v.resourceGroupName, v.vaultName, {
        abortSignal: listOptions.abortSignal,
      });
      for await (const page of cutOffAndDeduplicate(pages.byPage(), listOptions.startedSince))
        for (const job of page) yield job as BackupJob;
    },
    ...(graph
      ? {
          async listRecentJobs(requests, recentOptions = {}) {
            const wanted = new Map(requests.map((r) => [r.vaultId.toLowerCase(), r.startedSince]));
            const since = [...wanted.values()];
            // One query from the earliest start any vault needs; each vault's own cutoff is applied after.
            const earliest = since.some((d) => d === undefined)
              ? undefined
              : new Date(Math.min(...since.map((d) => (d as Date).getTime())));
            const subscriptions = [
              ...new Set(requests.map((r) => parseVaultId(r.vaultId).subscriptionId.toLowerCase())),
            ];
            const out = new Map<string, BackupJob[]>([...wanted.keys()].map((k) => [k, []]));
            if (!subscriptions.length) return out;
            const found = await queryJobsByVault(graph, subscriptions, earliest, recentOptions);
            for (const [vault, jobs] of found) {
              if (!wanted.has(vault)) continue;
              const from = wanted.get(vault)?.getTime() ?? Number.NEGATIVE_INFINITY;
              out.set(
                vault,
                (jobs as BackupJob[]).filter((j) => !(Date.parse(j.properties?.startTime ?? "") < from)),
              );
            }
            return out;
          },
        }
      : {}),
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
