// Role assignments inside the app's resource group, least privilege: data-plane roles on the one storage
// account, telemetry publishing on Application Insights, and Backup Contributor on each Backup vault (create
// backup instances and policies, start backups, read jobs; not delete the vault).
@description('Name of the app\'s user-assigned identity.')
param identityName string

@description('Storage account name.')
param storageAccountName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Names of the Backup vaults the app manages.')
param vaultNames string[]

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  backupContributor: '5e467623-bb1f-42f4-a55d-6e525e11384b'
}

// Host storage (leases, keys, deployment package): blob owner, as the Functions host requires.
var storageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vaults 'Microsoft.DataProtection/backupVaults@2024-04-01' existing = [
  for vaultName in vaultNames: {
    name: vaultName
  }
]

resource storageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in storageRoles: {
    name: guid(storage.id, identity.id, role)
    scope: storage
    properties: {
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

resource telemetryAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.monitoringMetricsPublisher
    )
  }
}

resource vaultAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (vaultName, i) in vaultNames: {
    name: guid(vaults[i].id, identity.id, roles.backupContributor)
    scope: vaults[i]
    properties: {
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.backupContributor)
    }
  }
]
