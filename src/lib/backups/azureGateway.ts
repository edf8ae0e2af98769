import type { ArmClients } from "../azure/clients.js";
import type { BaseBackupPolicyResource } from "../azure/dataprotection/models.js";
import { parseVaultId } from "../azure/ids.js";
import { isRestError } from "../errors.js";
import { parseDurationInMs } from "../jobs/mapping.js";
import type { BackupJob } from "../jobs/model.js";
import type { BackupGateway } from "./gateway.js";

/**
 * {@link BackupGateway} over the app's Data Protection client. Job listings are filtered by start time
 * when the caller gives one, so a cycle pages only through recent jobs.
 */
export function createAzureBackupGateway(
  clients: ArmClients,
  options: { updateIntervalInMs?: number } = {},
): BackupGateway {
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
      try {
        return (await client.jobs.get(v.resourceGroupName, v.vaultName, jobId, {
          abortSignal: getOptions.abortSignal,
        })) as BackupJob;
      } catch (e) {
        if (isRestError(e) && e.statusCode === 404) return undefined;
        throw e;
      }
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
