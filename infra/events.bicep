// Second deployment, run by the postdeploy hook (scripts/postdeploy.sh) once the code is deployed: one
// event subscription per system topic, delivering to the app's onResourceEvent function. Its inputs are
// main.bicep's outputs.
targetScope = 'subscription'

@description('System topics from main.bicep\'s EVENT_GRID_TOPICS output: subscriptionId, resourceGroupName, name.')
param topics {
  subscriptionId: string
  resourceGroupName: string
  name: string
}[]

@description('Resource id of the Function App (main.bicep output AZURE_FUNCTION_APP_ID).')
param functionAppId string

@description('Resource id of the dead-letter storage account (main.bicep output AZURE_STORAGE_ACCOUNT_ID).')
param deadLetterStorageAccountId string

@description('Dead-letter blob container (main.bicep output EVENT_GRID_DEADLETTER_CONTAINER).')
param deadLetterContainerName string

@description('Name of the Event Grid triggered function.')
param functionName string = 'onResourceEvent'

module eventSubscriptions 'app/event-subscription.bicep' = [
  for topic in topics: {
    name: 'event-subscription-${uniqueString(topic.subscriptionId, topic.name)}'
    scope: resourceGroup(topic.subscriptionId, topic.resourceGroupName)
    params: {
      topicName: topic.name
      name: 'pgflex-autoprotect-${functionName}'
      functionResourceId: '${functionAppId}/functions/${functionName}'
      deadLetterStorageAccountId: deadLetterStorageAccountId
      deadLetterContainerName: deadLetterContainerName
    }
  }
]

output EVENT_SUBSCRIPTION_IDS string[] = [for (topic, i) in topics: eventSubscriptions[i].outputs.id]
