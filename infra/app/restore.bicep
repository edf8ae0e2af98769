// The blob container restores write their files to (PGFLEX_RESTORE_TARGETS): Azure Backup restores a PostgreSQL
// Flexible Server's vaulted backup only as files into a container. Deployed into the container's resource group:
// with createAccount a storage account of its own (cross-tenant replication and public network access on, as
// Azure Backup requires; shared keys off) and a lifecycle rule deleting restored files after retentionDays;
// without it an existing container, which only gets the role assignments.
@description('Storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param accountName string

@description('Blob container name.')
param containerName string

@description('Create the account, the container and the lifecycle rule (true), or use an existing container (false).')
param createAccount bool

@description('Azure region of a created account.')
param location string

@description('Tags applied to a created account.')
param tags object

@description('Days a restored file stays in a created container before the lifecycle rule deletes it.')
@minValue(1)
param retentionDays int

@description('Subscription of the app\'s resource group.')
param appSubscriptionId string

@description('The app\'s resource group: it holds the app\'s identity and the Backup vaults.')
param appResourceGroupName string

@description('Name of the app\'s user-assigned identity.')
param identityName string

@description('Names of the Backup vaults whose system-assigned identities write restored files.')
param vaultNames string[]

@description('Principal ids of the same vaults\' identities, in the same order (used in the auto-grant condition).')
param vaultPrincipalIds string[]

@description('PGFLEX_AUTO_GRANT_ROLES: also let the app grant the vault identities their role on this container, under an ABAC condition.')
param autoGrantRoles bool

// Built-in role definition ids. Storage Blob Data Contributor is the one src/lib/restore/guidance.ts checks.
var roles = {
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  rbacAdministrator: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'
}

// ABAC conditions cannot test a role assignment's scope, so the subscription-wide condition of scope.bicep keeps
// this role out; this one, on the allow-listed container only, lets the app assign (src/lib/restore grants it at
// the container, as a service principal) and remove Storage Blob Data Contributor for the vault identities only.
var grantCondition = '((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${roles.storageBlobDataContributor}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${join(vaultPrincipalIds, ', ')}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {\'ServicePrincipal\'})) AND ((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/delete\'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${roles.storageBlobDataContributor}} AND @Resource[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${join(vaultPrincipalIds, ', ')}}))'

resource createdAccount 'Microsoft.Storage/storageAccounts@2023-05-01' = if (createAccount) {
  name: accountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    // Restored files are downloaded within days and then deleted: Cool's 30-day minimum would cost more.
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // The app lists the container with its identity and people download with --auth-mode login: no keys.
    allowSharedKeyAccess: false
    // Azure Backup writes restored files across its own tenant boundary: refused unless allowed.
    allowCrossTenantReplication: true
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    // Azure Backup reaches the account over its public endpoint.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource createdBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = if (createAccount) {
  parent: createdAccount
  name: 'default'
}

resource createdContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (createAccount) {
  parent: createdBlobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

// Restored files are a whole server's data: kept only as long as it takes to download them.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (createAccount) {
  parent: createdAccount
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-restored-files'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
                'appendBlob'
              ]
              prefixMatch: [
                '${containerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterCreationGreaterThan: retentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
  scope: resourceGroup(appSubscriptionId, appResourceGroupName)
}

resource vaults 'Microsoft.DataProtection/backupVaults@2024-04-01' existing = [
  for vaultName in vaultNames: {
    name: vaultName
    scope: resourceGroup(appSubscriptionId, appResourceGroupName)
  }
]

// The account and container as role assignment scopes, created above or already there.
resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: containerName
}

// Azure Backup writes the restored files with the vault's identity.
resource vaultWriters 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (vaultName, i) in vaultNames: {
    name: guid(container.id, vaults[i].id, roles.storageBlobDataContributor)
    scope: container
    properties: {
      principalId: vaults[i].identity.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId(
        'Microsoft.Authorization/roleDefinitions',
        roles.storageBlobDataContributor
      )
      description: 'pgflex-autoprotect: Azure Backup restores PostgreSQL Flexible Server backups as files here'
    }
    dependsOn: [
      createdContainer
    ]
  }
]

// The app lists a finished restore's files (and could read them); it writes nothing here.
resource appBlobReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, appIdentity.id, roles.storageBlobDataReader)
  scope: container
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
  }
  dependsOn: [
    createdContainer
  ]
}

// Before each restore the app reads the account's settings and the vault identities' role assignments on the
// container, whatever subscriptions PGFLEX_SCOPES lists.
resource appAccountReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, roles.reader)
  scope: account
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)
  }
  dependsOn: [
    createdAccount
  ]
}

resource appGrant 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (autoGrantRoles) {
  name: guid(container.id, appIdentity.id, roles.rbacAdministrator)
  scope: container
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.rbacAdministrator)
    description: 'pgflex-autoprotect: grant Backup vault identities Storage Blob Data Contributor on this restore container'
    condition: grantCondition
    conditionVersion: '2.0'
  }
  dependsOn: [
    createdContainer
  ]
}

output containerId string = container.id
output accountId string = account.id
