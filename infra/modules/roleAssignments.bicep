// What the Function App's managed identity may do, each role on the narrowest scope that serves; no keys or
// connection strings exist. Role ids: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
// What the Functions host needs of its storage with an identity:
// https://learn.microsoft.com/azure/azure-functions/functions-reference#connecting-to-host-storage-with-an-identity

param principalId string
param storageAccountName string
@description('The host\'s own containers (azure-webjobs-hosts, azure-webjobs-secrets) and the deployment package\'s')
param hostContainerNames array
@description('The app\'s data: uploads, sessions, examples, datasets')
param dataContainerNames array
@description('The queues the app\'s queue triggers read, and their poison queues')
param triggerQueueNames array
param exampleJobsQueueName string
param keyVaultName string
param applicationInsightsName string

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDelegator: 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource hostContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [for name in hostContainerNames: {
  parent: blobService
  name: name
}]

resource dataContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [for name in dataContainerNames: {
  parent: blobService
  name: name
}]

resource triggerQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = [for name in triggerQueueNames: {
  parent: queueService
  name: name
}]

resource exampleJobsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: exampleJobsQueueName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// The host's blobs (leases of timer singletons, keys) and the deployment package: Storage Blob Data Owner, what
// the Functions documentation names for host storage, on those containers only (main.bicep creates them).
resource hostBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (name, i) in hostContainerNames: {
  scope: hostContainers[i]
  name: guid(hostContainers[i].id, principalId, roles.storageBlobDataOwner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

// The data: read, write and delete blobs of uploads, sessions, examples and datasets (no ACLs, no other container).
resource dataBlobs 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (name, i) in dataContainerNames: {
  scope: dataContainers[i]
  name: guid(dataContainers[i].id, principalId, roles.storageBlobDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

// A user delegation key, to sign the upload and download SAS URLs (no account key exists). The key is asked of
// the account; what a SAS may do is further bounded by the container roles above.
// https://learn.microsoft.com/rest/api/storageservices/create-user-delegation-sas
resource blobDelegator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, principalId, roles.storageBlobDelegator)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDelegator)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The queue triggers (upload-events, dataset-builds): read, hide, update and delete their messages, and move them
// to their poison queues (made by main.bicep, so that the host never has to create a queue). The API also sends
// build requests to dataset-builds, which the same role allows.
resource triggerQueueData 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (name, i) in triggerQueueNames: {
  scope: triggerQueues[i]
  name: guid(triggerQueues[i].id, principalId, roles.storageQueueDataContributor)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

// Jobs for the pipelines service: send only, on that queue only.
resource exampleJobsSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: exampleJobsQueue
  name: guid(exampleJobsQueue.id, principalId, roles.storageQueueDataMessageSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataMessageSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Key Vault references in the app settings.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, principalId, roles.keyVaultSecretsUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Telemetry with Entra authentication (Application Insights has local auth off).
resource telemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: applicationInsights
  name: guid(applicationInsights.id, principalId, roles.monitoringMetricsPublisher)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
