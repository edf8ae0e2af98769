// Event Grid system topic for one subscription's Azure Resource Manager events. Azure allows one system
// topic per source, so a subscription that already has one needs it removed or reused by hand.
@description('System topic name.')
param name string

@description('Subscription whose resource events the topic publishes.')
param subscriptionId string

@description('Tags applied to the topic.')
param tags object

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: '/subscriptions/${subscriptionId}'
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

output id string = topic.id
output name string = topic.name
output principalId string = topic.identity.principalId
