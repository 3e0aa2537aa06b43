// Tracepipe in Azure, for the Azure Developer CLI (`azd up`, see azure.yaml and ../README.md, "Deploying to
// Azure"): one resource group holding the Function App (Flex Consumption, Node.js 22, system-assigned identity,
// integrated in a virtual network), its storage account, the storage account's Event Grid system topic that puts
// the uploads' BlobCreated events on a queue for the indexer, PostgreSQL Flexible Server with Microsoft Entra
// authentication reached through a private endpoint, Key Vault, Application Insights with Log Analytics, and the
// role assignments. infra/README.md lists what to run on a real subscription first.

targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('azd environment name: part of every resource name\'s hash, and a tag on every resource')
param environmentName string

@minLength(1)
@description('Region of every resource; it must offer the Flex Consumption plan')
param location string = resourceGroup().location

// ---- sizes ----------------------------------------------------------------------------------------------------
@description('Memory of each Function App instance, in MB (Flex Consumption)')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

@description('Most instances each function group scales out to (Flex Consumption: 40 to 1000); it divides the PostgreSQL connections (the connection-budget block below)')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('Storage account redundancy')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('PostgreSQL compute size (Standard_B* are Burstable, Standard_D* GeneralPurpose); its connection limit must hold the app\'s pools (the connection-budget block)')
@allowed([
  'Standard_B1ms'
  'Standard_B2s'
  'Standard_B2ms'
  'Standard_D2ds_v5'
  'Standard_D4ds_v5'
])
param postgresSkuName string = 'Standard_B2s'

@description('PostgreSQL compute tier; it must fit postgresSkuName')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param postgresSkuTier string = 'Burstable'

@description('PostgreSQL storage in GB')
param postgresStorageSizeGB int = 32

@description('PostgreSQL major version')
@allowed([
  '15'
  '16'
])
param postgresVersion string = '16'

// ---- retention ------------------------------------------------------------------------------------------------
// Retention is each user's setting (GET|PATCH /v1/users/me/settings, at most 3650 days), applied by the app's
// daily run, which keeps the rows right (expired, deleted). This rule is only a backstop past the longest
// retention a user can choose: at 365 it deleted the files of users who asked to keep them.
@description('Days after their last write that session traces and example files are deleted from Blob Storage (a backstop: users choose their own retention, at most 3650 days)')
@minValue(1)
param retentionDays int = 3660

@description('Days Log Analytics keeps logs and telemetry')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// ---- secrets and settings (main.parameters.json maps them from the azd environment) --------------------------
@secure()
@minLength(32)
@description('API_KEY_HMAC_SECRET (the preprovision hook makes one); changing it invalidates every API key')
param apiKeyHmacSecret string

@secure()
@description('STRIPE_SECRET_KEY; empty: Stripe off (usage still accrues)')
param stripeSecretKey string = ''

@secure()
@description('STRIPE_WEBHOOK_SECRET of the webhook endpoint /v1/webhooks/stripe')
param stripeWebhookSecret string = ''

@secure()
@description('STRIPE_EVENTS_WEBHOOK_SECRET of the event destination of thin events (meter error reports) at the same URL')
param stripeEventsWebhookSecret string = ''

@description('STRIPE_TOKENS_PRICE_ID, printed by `npm run stripe:setup`')
param stripeTokensPriceId string = ''

@description('STRIPE_STORAGE_PRICE_ID, printed by `npm run stripe:setup`')
param stripeStoragePriceId string = ''

@description('ENTRA_ISSUER of the storefront\'s Microsoft Entra External ID tokens; empty: Bearer tokens are refused')
param entraIssuer string = ''

@description('ENTRA_AUDIENCE those tokens are issued for')
param entraAudience string = ''

@description('CORS_ALLOWED_ORIGINS: the storefront\'s origins (https://shop.example.com), comma-separated; empty: no browser calls from other origins')
param corsAllowedOrigins string = ''

// ---- who runs the deployment ----------------------------------------------------------------------------------
@description('Object id of the principal running azd (azd sets AZURE_PRINCIPAL_ID): the PostgreSQL administrator that the predeploy hook runs the migrations as')
param principalId string = ''

@description('That principal\'s name as PostgreSQL knows it: a user\'s UPN (the default, from deployer()), a group\'s or service principal\'s display name')
param principalName string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

// ---- names ----------------------------------------------------------------------------------------------------
var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-tracepipe-${resourceToken}'
var storageAccountName = 'st${resourceToken}'
var keyVaultName = 'kv-${resourceToken}'
var postgresServerName = 'psql-${resourceToken}'
var databaseName = 'tracepipe'
var deploymentContainerName = 'app-package-${resourceToken}'
// deployer().userPrincipalName is recent (and empty for service principals): read it without a compile-time check.
var postgresAdminName = !empty(principalName) ? principalName : (any(deployer()).?userPrincipalName ?? '')

// <storage-layout>
// Names the code uses (shared/storage/layout.ts): test/api/infra.test.ts checks that the two agree.
var uploadsContainerName = 'uploads'
var sessionsContainerName = 'sessions'
var examplesContainerName = 'examples'
var exampleJobsQueueName = 'example-jobs'
var datasetsContainerName = 'datasets'
var datasetBuildsQueueName = 'dataset-builds'
var uploadEventsQueueName = 'upload-events'
// </storage-layout>
// The queue triggers' poison queues, made here so that the app needs no right to create queues; the Functions host's
// own containers, made here so that its roles can be scoped to them; where Event Grid leaves what it cannot deliver.
var uploadEventsPoisonQueueName = '${uploadEventsQueueName}-poison'
var datasetBuildsPoisonQueueName = '${datasetBuildsQueueName}-poison'
var hostContainerNames = [
  'azure-webjobs-hosts'
  'azure-webjobs-secrets'
]
var uploadEventsDeadLetterContainerName = 'upload-events-deadletter'

// <upload-events>
// The Event Grid subscription that feeds the indexer (shared/sessions/sessionBlob.ts UPLOAD_EVENTS_SUBSCRIPTION;
// test/api/infra.test.ts checks that the two agree, and the local host delivers the same events).
var uploadEventsSubscription = {
  name: 'uploads-blob-created'
  queue: uploadEventsQueueName
  includedEventTypes: [
    'Microsoft.Storage.BlobCreated'
  ]
  subjectBeginsWith: '/blobServices/default/containers/${uploadsContainerName}/blobs/'
  subjectEndsWith: ''
}
// </upload-events>

// <connection-budget>
// PostgreSQL connections and the app's pools, sized together (README, "Deploying to Azure": the arithmetic).
// Connections for users by compute size: max_connections less the 15 Azure keeps for itself
// (https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-limits). Built-in PgBouncer would pool
// them, but Burstable servers do not offer it, and the Stripe sync's session advisory lock would not survive its
// transaction pooling.
var postgresUserConnections = {
  Standard_B1ms: 35
  Standard_B2s: 414
  Standard_B2ms: 844
  Standard_D2ds_v5: 844
  Standard_D4ds_v5: 1703
}
// Kept for the deployment's migrations (one connection) and an operator's sessions.
var reservedConnections = 10
// Function groups that scale out, each to functionMaximumInstanceCount instances (Flex Consumption's per-function
// scaling): all HTTP functions together, and each queue-triggered function on its own (indexSessionUpload,
// buildDataset).
var scaledFunctionGroups = 3
// Timer functions: a group each, on one instance at a time.
var singletonFunctions = 14
// Connections per instance: what is left, shared by every instance that may run at once.
var databasePoolMax = (postgresUserConnections[postgresSkuName] - reservedConnections) / (functionMaximumInstanceCount * scaledFunctionGroups + singletonFunctions)
// </connection-budget>

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    logRetentionDays: logRetentionDays
  }
}

module network 'modules/network.bicep' = {
  name: 'network'
  params: {
    location: location
    tags: tags
    name: 'vnet-${resourceToken}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: storageAccountName
    skuName: storageSkuName
    containerNames: concat([
      uploadsContainerName
      sessionsContainerName
      examplesContainerName
      datasetsContainerName
      deploymentContainerName
      uploadEventsDeadLetterContainerName
    ], hostContainerNames)
    queueNames: [
      exampleJobsQueueName
      datasetBuildsQueueName
      datasetBuildsPoisonQueueName
      uploadEventsQueueName
      uploadEventsPoisonQueueName
    ]
    retentionPrefixes: [
      '${sessionsContainerName}/'
      '${examplesContainerName}/'
      '${datasetsContainerName}/'
    ]
    retentionDays: retentionDays
    stagingPrefixes: [
      '${uploadsContainerName}/'
      '${uploadEventsDeadLetterContainerName}/'
    ]
  }
}

module uploadEvents 'modules/uploadEvents.bicep' = {
  name: 'uploadEvents'
  params: {
    location: location
    tags: tags
    topicName: 'evgt-${resourceToken}'
    storageAccountName: storage.outputs.name
    subscription: uploadEventsSubscription
    deadLetterContainerName: uploadEventsDeadLetterContainerName
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  params: {
    location: location
    tags: tags
    name: keyVaultName
    apiKeyHmacSecret: apiKeyHmacSecret
    stripeSecretKey: stripeSecretKey
    stripeWebhookSecret: stripeWebhookSecret
    stripeEventsWebhookSecret: stripeEventsWebhookSecret
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  params: {
    location: location
    tags: tags
    name: postgresServerName
    databaseName: databaseName
    skuName: postgresSkuName
    skuTier: postgresSkuTier
    storageSizeGB: postgresStorageSizeGB
    version: postgresVersion
    virtualNetworkId: network.outputs.id
    privateEndpointSubnetId: network.outputs.privateEndpointSubnetId
  }
}

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    location: location
    tags: tags
    planName: 'plan-${resourceToken}'
    name: functionAppName
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    instanceMemoryMB: functionInstanceMemoryMB
    maximumInstanceCount: functionMaximumInstanceCount
    virtualNetworkSubnetId: network.outputs.appSubnetId
  }
}

module roleAssignments 'modules/roleAssignments.bicep' = {
  name: 'roleAssignments'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    hostContainerNames: concat(hostContainerNames, [
      deploymentContainerName
    ])
    dataContainerNames: [
      uploadsContainerName
      sessionsContainerName
      examplesContainerName
      datasetsContainerName
    ]
    triggerQueueNames: [
      uploadEventsQueueName
      uploadEventsPoisonQueueName
      datasetBuildsQueueName
      datasetBuildsPoisonQueueName
    ]
    exampleJobsQueueName: exampleJobsQueueName
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

// The deploying principal is the server's one Entra administrator: it runs the migrations and makes the app's own
// role, which is no administrator (scripts/releaseDatabase.ts, run by infra/hooks/predeploy.mjs).
module postgresAdministrators 'modules/postgresAdministrators.bicep' = if (!empty(principalId) && !empty(postgresAdminName)) {
  name: 'postgresAdministrators'
  params: {
    serverName: postgres.outputs.name
    administrators: [
      {
        objectId: principalId
        principalName: postgresAdminName
        principalType: principalType
      }
    ]
  }
}

// <app-settings>
// The Function App's app settings: what shared/config.ts reads in production, and the platform's own. One
// setting per line: test/api/infra.test.ts reads this block and checks it against the configuration schema.
// Secrets are Key Vault references without a version: the app follows the latest version of each secret.
var appSettings = {
  AzureWebJobsStorage__blobServiceUri: 'https://${storageAccountName}.blob.${environment().suffixes.storage}'
  AzureWebJobsStorage__queueServiceUri: 'https://${storageAccountName}.queue.${environment().suffixes.storage}'
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  TRACEPIPE_ENV: 'production'
  DATABASE_AUTH: 'entra'
  DATABASE_POOL_MAX: string(databasePoolMax)
  DATABASE_URL: 'postgres://${functionAppName}@${postgres.outputs.fullyQualifiedDomainName}:5432/${databaseName}?sslmode=verify-full'
  AZURE_STORAGE_ACCOUNT_URL: 'https://${storageAccountName}.blob.${environment().suffixes.storage}/'
  API_KEY_HMAC_SECRET: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=api-key-hmac-secret)'
  STRIPE_SECRET_KEY: empty(stripeSecretKey) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=stripe-secret-key)'
  STRIPE_WEBHOOK_SECRET: empty(stripeWebhookSecret) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=stripe-webhook-secret)'
  STRIPE_EVENTS_WEBHOOK_SECRET: empty(stripeEventsWebhookSecret) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=stripe-events-webhook-secret)'
  STRIPE_TOKENS_PRICE_ID: stripeTokensPriceId
  STRIPE_STORAGE_PRICE_ID: stripeStoragePriceId
  PUBLIC_BASE_URL: 'https://${functionAppName}.azurewebsites.net'
  ENTRA_ISSUER: entraIssuer
  ENTRA_AUDIENCE: entraAudience
  CORS_ALLOWED_ORIGINS: corsAllowedOrigins
}
// </app-settings>

module functionAppSettings 'modules/functionAppSettings.bicep' = {
  name: 'functionAppSettings'
  params: {
    functionAppName: functionApp.outputs.name
    appSettings: appSettings
    databasePoolMax: databasePoolMax
  }
  dependsOn: [
    roleAssignments
    keyVault
  ]
}

// Outputs land in the azd environment (.azure/<env>/.env), where the hooks read them.
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_PRINCIPAL_ID string = functionApp.outputs.principalId
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output POSTGRES_SERVER_NAME string = postgres.outputs.name
output POSTGRES_HOST string = postgres.outputs.fullyQualifiedDomainName
output POSTGRES_DATABASE string = databaseName
output POSTGRES_ADMIN_NAME string = postgresAdminName
output POSTGRES_APP_ROLE string = functionAppName
