// Event Grid system topic for one subscription's Azure Resource Manager events. Azure allows one system
// topic per source: a subscription that already has one reuses it (scope.bicep passes what it read of the
// existing topic), keeping its location, tags and identities and adding the system-assigned identity the
// app's event subscription dead-letters with.
@description('System topic name.')
param name string

@description('Subscription whose resource events the topic publishes.')
param subscriptionId string

@description('Region of the topic: global for a new one, the existing topic\'s when reused.')
param location string

@description('Tags applied to the topic (an existing topic\'s own tags when reused).')
param tags object

@description('Identity of the existing topic being reused; empty for a new topic.')
param existingIdentity object = {}

var existingType = existingIdentity.?type ?? 'None'
var userAssignedIdentities = existingIdentity.?userAssignedIdentities ?? {}
var identity = contains(existingType, 'UserAssigned')
  ? {
      type: 'SystemAssigned, UserAssigned'
      userAssignedIdentities: toObject(objectKeys(userAssignedIdentities), id => id, id => {})
    }
  : {
      type: 'SystemAssigned'
    }

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  identity: identity
  properties: {
    source: '/subscriptions/${subscriptionId}'
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

output id string = topic.id
output name string = topic.name
output principalId string = topic.identity.principalId
