// What feeds the indexer: the storage account's Event Grid system topic, with an identity of its own, delivering the
// BlobCreated events of `uploads` to the `upload-events` queue, where the queue trigger indexSessionUpload reads
// them (functions/sessionIndexer.ts). No webhook, so no Functions host key is needed and the subscription is made
// with the rest of the infra. Events Event Grid cannot deliver (after its retries) land as blobs in the
// dead-letter container, with the same identity.
// https://learn.microsoft.com/azure/event-grid/handler-storage-queues
// https://learn.microsoft.com/azure/event-grid/managed-service-identity
// https://learn.microsoft.com/azure/event-grid/manage-event-delivery#set-dead-letter-location

param location string
param tags object
param topicName string
param storageAccountName string
@description('{ name, queue, includedEventTypes, subjectBeginsWith, subjectEndsWith }: main.bicep\'s upload-events block')
param subscription object
param deadLetterContainerName string

var roles = {
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource queue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: subscription.queue
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: topicName
  location: location
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Sending to that one queue only (the account has no shared keys: delivery is by identity).
resource queueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: queue
  name: guid(queue.id, topic.id, roles.storageQueueDataMessageSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageSender)
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Writing dead letters to their container only.
resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: deadLetterContainer
  name: guid(deadLetterContainer.id, topic.id, roles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: subscription.name
  properties: {
    deliveryWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: storage.id
          queueName: subscription.queue
          // A week, the queue service's default: an indexer outage of days loses nothing.
          queueMessageTimeToLiveInSeconds: 604800
        }
      }
    }
    filter: {
      includedEventTypes: subscription.includedEventTypes
      // Subjects look like /blobServices/default/containers/uploads/blobs/<session-id>/<attempt>/<file name>.
      subjectBeginsWith: subscription.subjectBeginsWith
      subjectEndsWith: subscription.subjectEndsWith
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
  dependsOn: [
    queueSender
    deadLetterWriter
  ]
}

output topicName string = topic.name
