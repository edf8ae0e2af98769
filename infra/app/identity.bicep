// The app's user-assigned identity: one principal for Storage (AzureWebJobsStorage__clientId) and ARM
// (AZURE_CLIENT_ID), created before the app so role assignments can name it.
@description('Identity name.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
