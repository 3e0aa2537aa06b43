// The storage account: the Functions host's own storage (AzureWebJobsStorage: leases, keys), the deployment
// package container, the data (uploads, sessions, examples, datasets, the example-jobs and dataset-builds queues),
// and the upload-events queue that Event Grid fills for the indexer (with its poison queue and Event Grid's
// dead-letter container). Shared keys are off: every client authenticates with Microsoft Entra (the app's managed
// identity; user-delegation SAS for uploads; the Event Grid topic's own identity).
// https://learn.microsoft.com/azure/storage/common/shared-key-authorization-prevent

param location string
param tags object
param name string
@description('Storage redundancy, e.g. Standard_LRS or Standard_ZRS')
param skuName string
@description('Blob containers to create')
param containerNames array
@description('Queues to create')
param queueNames array
@description('Blob name prefixes (container/) whose blobs the lifecycle rule deletes')
param retentionPrefixes array
@description('Days after its last modification that a blob under retentionPrefixes is deleted')
param retentionDays int
@description('Blob name prefixes of staging uploads (the indexer deletes them, this rule whatever it never saw) and of dead-lettered events')
param stagingPrefixes array
@description('Days after which a staging upload is deleted')
param stagingRetentionDays int = 7

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for containerName in containerNames: {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}]

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for queueName in queueNames: {
  parent: queueService
  name: queueName
}]

// Retention: traces and generated examples are deleted a fixed number of days after they were last written
// (storage is billed by the GB-hour). https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-overview
resource retention 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-after-retention-days'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: retentionPrefixes
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: retentionDays
                }
              }
            }
          }
        }
        {
          // Uploads the indexer never got to (its trigger lost, the session gone): staging is not storage a user
          // keeps. Uncommitted blocks are discarded by the service itself after a week.
          name: 'delete-stale-staging-uploads'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
                'appendBlob'
              ]
              prefixMatch: stagingPrefixes
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: stagingRetentionDays
                }
              }
              snapshot: {
                delete: {
                  daysAfterCreationGreaterThan: stagingRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
}

output name string = account.name
output id string = account.id
