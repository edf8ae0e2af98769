// Lets one Event Grid system topic's identity write undeliverable events to the dead-letter container
// (shared keys are off, so dead-lettering authenticates with the topic's managed identity).
@description('Subscription of the system topic.')
param topicSubscriptionId string

@description('Resource group of the system topic.')
param topicResourceGroupName string

@description('Name of the system topic; its system-assigned identity writes the dead letters.')
param topicName string

@description('Storage account name.')
param storageAccountName string

@description('Dead-letter blob container.')
param containerName string

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource container 'containers' existing = {
      name: containerName
    }
  }
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
  scope: resourceGroup(topicSubscriptionId, topicResourceGroupName)
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage::blobService::container.id, topic.id, storageBlobDataContributor)
  scope: storage::blobService::container
  properties: {
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}
