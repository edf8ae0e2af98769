/**
 * The backup policy this app creates when a mapped policy is missing from a vault: one weekly full
 * backup to the vault store, kept for the configured retention (shape of PolicyCRUD/CreateOrUpdateBackupPolicy).
 */
export function weeklyPolicyDefinition(retention: string, startDate = "2024-01-07T02:00:00+00:00"): unknown {
  const vaultStore = { dataStoreType: "VaultStore", objectType: "DataStoreInfoBase" };
  return {
    properties: {
      objectType: "BackupPolicy",
      datasourceTypes: ["Microsoft.DBforPostgreSQL/flexibleServers"],
      policyRules: [
        {
          name: "BackupWeekly",
          objectType: "AzureBackupRule",
          backupParameters: { objectType: "AzureBackupParams", backupType: "Full" },
          dataStore: vaultStore,
          trigger: {
            objectType: "ScheduleBasedTriggerContext",
            schedule: { repeatingTimeIntervals: [`R/${startDate}/P1W`] },
            taggingCriteria: [{ isDefault: true, taggingPriority: 99, tagInfo: { tagName: "Default" } }],
          },
        },
        {
          name: "Default",
          objectType: "AzureRetentionRule",
          isDefault: true,
          lifecycles: [
            {
              sourceDataStore: vaultStore,
              deleteAfter: { objectType: "AbsoluteDeleteOption", duration: retention },
            },
          ],
        },
      ],
    },
  };
}
