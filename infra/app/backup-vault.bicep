// One Backup vault for a region: system-assigned identity (the identity Azure Backup uses to read and back
// up servers), soft delete on, and the default weekly policy for PostgreSQL Flexible Servers.
@description('Backup vault name.')
param name string

@description('Region of the vault; it protects servers of this region only.')
param location string

@description('Tags applied to the vault, including the marker tag the app discovers vaults by.')
param tags object

@description('Name of the default policy (a PGFLEX_POLICY_MAP value).')
param policyName string

@description('ISO 8601 retention of weekly backups, e.g. P12W.')
param retentionDuration string

@description('Redundancy of the vault store.')
@allowed(['LocallyRedundant', 'GeoRedundant', 'ZoneRedundant'])
param storageRedundancy string = 'LocallyRedundant'

@description('Days deleted backup data stays recoverable.')
@minValue(14)
@maxValue(180)
param softDeleteRetentionDays int = 14

@description('First weekly backup (ISO 8601, UTC); later ones repeat every P1W.')
param scheduleStart string = '2024-01-07T02:00:00+00:00'

resource vault 'Microsoft.DataProtection/backupVaults@2024-04-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    storageSettings: [
      {
        datastoreType: 'VaultStore'
        type: storageRedundancy
      }
    ]
    securitySettings: {
      softDeleteSettings: {
        state: 'On'
        retentionDurationInDays: softDeleteRetentionDays
      }
    }
    monitoringSettings: {
      azureMonitorAlertSettings: {
        alertsForAllJobFailures: 'Enabled'
      }
    }
  }
}

resource policy 'Microsoft.DataProtection/backupVaults/backupPolicies@2024-04-01' = {
  parent: vault
  name: policyName
  properties: {
    objectType: 'BackupPolicy'
    datasourceTypes: [
      'Microsoft.DBforPostgreSQL/flexibleServers'
    ]
    policyRules: [
      {
        name: 'BackupWeekly'
        objectType: 'AzureBackupRule'
        backupParameters: {
          objectType: 'AzureBackupParams'
          backupType: 'Full'
        }
        dataStore: {
          objectType: 'DataStoreInfoBase'
          dataStoreType: 'VaultStore'
        }
        trigger: {
          objectType: 'ScheduleBasedTriggerContext'
          schedule: {
            repeatingTimeIntervals: [
              'R/${scheduleStart}/P1W'
            ]
            timeZone: 'UTC'
          }
          taggingCriteria: [
            {
              isDefault: true
              taggingPriority: 99
              tagInfo: {
                tagName: 'Default'
              }
            }
          ]
        }
      }
      {
        name: 'Default'
        objectType: 'AzureRetentionRule'
        isDefault: true
        lifecycles: [
          {
            sourceDataStore: {
              objectType: 'DataStoreInfoBase'
              dataStoreType: 'VaultStore'
            }
            deleteAfter: {
              objectType: 'AbsoluteDeleteOption'
              duration: retentionDuration
            }
            targetDataStoreCopySettings: []
          }
        ]
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output principalId string = vault.identity.principalId
output policyId string = policy.id
