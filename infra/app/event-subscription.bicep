// Delivers a subscription's PostgreSQL Flexible Server writes, deletes, starts and tag writes to the app's Event Grid
// function. Created after the code is deployed: Event Grid checks that the function exists.
@description('Name of the system topic (in this resource group).')
param topicName string

@description('Event subscription name.')
param name string

@description('Resource id of the Event Grid triggered function (<function app id>/functions/<name>).')
param functionResourceId string

@description('Resource id of the storage account that receives dead letters.')
param deadLetterStorageAccountId string

@description('Blob container that receives dead letters.')
param deadLetterContainerName string

@description('Operations that reach the function; the trigger handles exactly these.')
param operationNames string[] = [
  'Microsoft.DBforPostgreSQL/flexibleServers/write'
  'Microsoft.DBforPostgreSQL/flexibleServers/delete'
  'Microsoft.Resources/tags/write'
  'Microsoft.DBforPostgreSQL/flexibleServers/start/action'
]

@description('Delivery attempts before an event is dead-lettered.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes Event Grid keeps retrying an event.')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: topicName
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: name
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: functionResourceId
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Resources.ResourceWriteSuccess'
        'Microsoft.Resources.ResourceDeleteSuccess'
        // A stopped server's start: it is parked until then (Azure Backup takes no backups while stopped).
        'Microsoft.Resources.ResourceActionSuccess'
      ]
      // Tag writes on a server have the server's id in the subject; its child resources are excluded
      // by the operation name.
      subjectBeginsWith: '/subscriptions/'
      enableAdvancedFilteringOnArrays: true
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.operationName'
          values: operationNames
        }
        {
          operatorType: 'StringContains'
          key: 'subject'
          values: [
            '/providers/Microsoft.DBforPostgreSQL/flexibleServers/'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output id string = eventSubscription.id
