// Everything one subscription in scope needs: read access for the app, the vault identities' two roles
// (granted here, or granted later by the app under an ABAC condition when auto-grant is on), and the
// Event Grid system topic that reports its resource writes and deletes (created, or the subscription's
// existing one reused: a subscription has at most one).
targetScope = 'subscription'

@description('Subscription of the app\'s resource group.')
param appSubscriptionId string

@description('The app\'s resource group: it holds the app\'s identity and the Backup vaults.')
param appResourceGroupName string

@description('Name of the app\'s user-assigned identity.')
param identityName string

@description('Names of the Backup vaults whose system-assigned identities back up servers.')
param vaultNames string[]

@description('Principal ids of the same vaults\' identities, in the same order (used in the auto-grant condition).')
param vaultPrincipalIds string[]

@description('When true the app grants the vault identities their roles per server; when false they are granted here on the whole subscription.')
param autoGrantRoles bool

@description('Resource group that holds the system topic.')
param topicResourceGroupName string

@description('Create the topic\'s resource group (false when it is the app\'s own resource group).')
param createTopicResourceGroup bool

@description('System topic name.')
param topicName string

@description('Reuse the subscription\'s existing Microsoft.Resources.Subscriptions system topic (topicResourceGroupName/topicName) instead of creating one.')
param reuseTopic bool = false

@description('Region of a resource group created here.')
param location string

@description('Tags applied to every resource.')
param tags object

// Built-in role definition ids; the app checks the same two vault roles (src/lib/azure/roles.ts).
var roles = {
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7'
  ltrBackup: 'c088a766-074b-43ba-90d4-1fb21feae531'
  rbacAdministrator: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168'
}
var vaultRoles = [
  roles.ltrBackup
  roles.reader
]

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

// The app may create and delete role assignments only for the two vault roles, only for the vault
// identities, and only for service principals.
var grantCondition = '((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/write\'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${join(vaultRoles, ', ')}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${join(vaultPrincipalIds, ', ')}} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {\'ServicePrincipal\'})) AND ((!(ActionMatches{\'Microsoft.Authorization/roleAssignments/delete\'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${join(vaultRoles, ', ')}} AND @Resource[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {${join(vaultPrincipalIds, ', ')}}))'

// Servers, resource groups and vaults in scope: the app inventories and validates, it does not modify them.
resource appReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, appIdentity.id, roles.reader)
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.reader)
  }
}

resource appGrant 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (autoGrantRoles) {
  name: guid(subscription().id, appIdentity.id, roles.rbacAdministrator)
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.rbacAdministrator)
    description: 'pgflex-autoprotect: grant Backup vault identities their two PostgreSQL backup roles'
    condition: grantCondition
    conditionVersion: '2.0'
  }
}

// Without auto-grant the vault identities get their roles once, on the whole subscription.
resource vaultAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for i in range(0, length(vaultNames) * length(vaultRoles)): if (!autoGrantRoles) {
    name: guid(subscription().id, vaults[i / length(vaultRoles)].id, vaultRoles[i % length(vaultRoles)])
    properties: {
      principalId: vaults[i / length(vaultRoles)].identity.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId(
        'Microsoft.Authorization/roleDefinitions',
        vaultRoles[i % length(vaultRoles)]
      )
    }
  }
]

resource topicResourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = if (createTopicResourceGroup) {
  name: topicResourceGroupName
  location: location
  tags: tags
}

// A reused topic keeps its location, tags and identities (event-topic.bicep adds a system-assigned one).
resource existingTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = if (reuseTopic) {
  name: topicName
  scope: resourceGroup(topicResourceGroupName)
}

module topic 'event-topic.bicep' = {
  name: 'event-topic-${uniqueString(subscription().id, topicName)}'
  scope: resourceGroup(topicResourceGroupName)
  params: {
    name: topicName
    subscriptionId: subscription().subscriptionId
    location: reuseTopic ? existingTopic!.location : 'global'
    tags: reuseTopic ? (existingTopic!.tags ?? {}) : tags
    existingIdentity: reuseTopic ? (existingTopic!.identity ?? {}) : {}
  }
  dependsOn: [
    topicResourceGroup
  ]
}

output subscriptionId string = subscription().subscriptionId
output topicResourceGroupName string = topicResourceGroupName
output topicName string = topic.outputs.name
output topicId string = topic.outputs.id
output topicPrincipalId string = topic.outputs.principalId
output topicReused bool = reuseTopic
