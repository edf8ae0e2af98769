import { pgFlexDatasourceType } from "./models.js";
import type { BaseBackupPolicyResource, BackupPolicy } from "./models.js";

export interface PgFlexWeeklyPolicyOptions {
  /** ISO 8601 retention of each weekly backup, e.g. "P12W" (PGFLEX_POLICY_RETENTION). */
  retention: string;
  /** First backup (its weekday and time repeat weekly). Default Sunday 2024-01-07 02:00 UTC. */
  startTime?: string;
  timeZone?: string;
}

/** Name of the backup rule an ad hoc backup must name (`backupRuleOptions.ruleName`). */
export const pgFlexBackupRuleName = "BackupWeekly";
/** The retention tag of the default retention rule (`triggerOption.retentionTagOverride`). */
export const pgFlexDefaultRetentionTag = "Default";

/**
 * The policy this app creates when a mapped policy is missing: PG Flexible Server long-term retention
 * backups run weekly (`P1W` is the only period the service accepts) into the vault store, kept `retention`.
 */
export function pgFlexWeeklyPolicy(options: PgFlexWeeklyPolicyOptions): BaseBackupPolicyResource {
  if (!/^P(\d+[DWMY])+$/.test(options.retention)) {
    throw new RangeError(`Retention "${options.retention}" is not an ISO 8601 duration such as P12W.`);
  }
  const vaultStore = { dataStoreType: "VaultStore", objectType: "DataStoreInfoBase" } as const;
  const properties: BackupPolicy = {
    objectType: "BackupPolicy",
    datasourceTypes: [pgFlexDatasourceType],
    policyRules: [
      {
        objectType: "AzureBackupRule",
        name: pgFlexBackupRuleName,
        backupParameters: { objectType: "AzureBackupParams", backupType: "Full" },
        dataStore: vaultStore,
        trigger: {
          objectType: "ScheduleBasedTriggerContext",
          schedule: {
            repeatingTimeIntervals: [`R/${options.startTime ?? "2024-01-07T02:00:00+00:00"}/P1W`],
            timeZone: options.timeZone ?? "UTC",
          },
          taggingCriteria: [
            { isDefault: true, taggingPriority: 99, tagInfo: { tagName: pgFlexDefaultRetentionTag } },
          ],
        },
      },
      {
        objectType: "AzureRetentionRule",
        name: pgFlexDefaultRetentionTag,
        isDefault: true,
        lifecycles: [
          {
            deleteAfter: { objectType: "AbsoluteDeleteOption", duration: options.retention },
            sourceDataStore: vaultStore,
          },
        ],
      },
    ],
  };
  return { properties };
}
