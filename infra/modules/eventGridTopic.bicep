// The Event Grid system topic of the storage account: its BlobCreated events drive the blob trigger (source
// EventGrid; Flex Consumption does not poll containers). The subscriptions are made after the code is deployed,
// by ../blobEventSubscriptions.bicep. https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger

param location string
param tags object
param name string
param storageAccountId string

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = topic.name
