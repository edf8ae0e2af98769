// Event Grid custom topic that receives the app's alerts (PGFLEX_ALERT_EVENTGRID_ENDPOINT) as CloudEvents 1.0.
// Local (key) auth is off: the app publishes with its identity, which gets EventGrid Data Sender here and
// nowhere else. Subscribe a handler (Logic App, webhook, queue) to route the alerts.
@description('Topic name.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the topic.')
param tags object

@description('Name of the app\'s user-assigned identity (same resource group), the only sender.')
param senderIdentityName string

var eventGridDataSender = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource sender 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: senderIdentityName
}

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    minimumTlsVersionAllowed: '1.2'
  }
}

resource senderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, sender.id, eventGridDataSender)
  scope: topic
  properties: {
    principalId: sender.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSender)
  }
}

output id string = topic.id
output name string = topic.name
output endpoint string = topic.properties.endpoint
