// Reader for the app on a subscription that holds Backup vaults but is not in scope (PGFLEX_SCOPES leaves it
// out): the sweeps and `doctor` find the vaults by their marker tag and read them. Same assignment name as
// scope.bicep's, so adding the subscription to the scope later reuses it.
targetScope = 'subscription'

@description('Subscription of the app\'s resource group.')
param appSubscriptionId string

@description('The app\'s resource group: it holds the app\'s identity.')
param appResourceGroupName string

@description('Name of the app\'s user-assigned identity.')
param identityName string

var reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7'

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
  scope: resourceGroup(appSubscriptionId, appResourceGroupName)
}

resource appReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, appIdentity.id, reader)
  properties: {
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', reader)
  }
}

output subscriptionId string = subscription().subscriptionId
