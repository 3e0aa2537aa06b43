// Phase two of the deployment: the Event Grid subscriptions that drive the blob triggers (source EventGrid).
// infra/hooks/postdeploy.mjs deploys this after `azd deploy`, with `az deployment group create`, because it can
// only work once the code runs: the endpoint needs the host's `blobs_extension` system key, which the host makes
// when it first loads an Event Grid blob trigger, and Event Grid validates the endpoint when subscribing.
// The same order as Microsoft's azd templates (functions-quickstart-*-azd-eventgrid-blob, scripts/post-up.sh).
// https://learn.microsoft.com/azure/azure-functions/functions-event-grid-blob-trigger

@description('The Function App (output AZURE_FUNCTION_APP_NAME of main.bicep)')
param functionAppName string

@description('The storage account\'s Event Grid system topic (output EVENT_GRID_SYSTEM_TOPIC_NAME)')
param systemTopicName string

// <blob-triggers>
// One subscription per blob trigger with source EventGrid: the function's name, its container and the end of
// its blob path. test/infra.test.ts checks these against the functions the app registers.
var blobTriggers = [
  {
    functionName: 'indexSessionUpload'
    container: 'uploads'
    blobNameSuffix: ''
  }
]
// </blob-triggers>

resource functionApp 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource functionHost 'Microsoft.Web/sites/host@2024-04-01' existing = {
  parent: functionApp
  name: 'default'
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

// Webhook of the blob extension: https://<app>/runtime/webhooks/blobs?functionName=Host.Functions.<name>&code=<key>
resource subscriptions 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = [for trigger in blobTriggers: {
  parent: systemTopic
  name: toLower('${trigger.functionName}-blob-created')
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${trigger.functionName}&code=${functionHost.listKeys().systemKeys.blobs_extension}'
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      // Subjects look like /blobServices/default/containers/uploads/blobs/<session-id>/<attempt>/<file name>.
      subjectBeginsWith: '/blobServices/default/containers/${trigger.container}/blobs/'
      subjectEndsWith: trigger.blobNameSuffix
    }
    eventDeliverySchema: 'EventGridSchema'
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}]
