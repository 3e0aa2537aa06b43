// Tracepipe in Azure, for the Azure Developer CLI (`azd up`, see azure.yaml and ../README.md, "Deploying to
// Azure"): one resource group holding the Function App (Flex Consumption, Node.js 22, system-assigned identity),
// its storage account, the Event Grid system topic that drives the blob trigger, PostgreSQL Flexible Server with
// Microsoft Entra authentication, Key Vault, Application Insights with Log Analytics, and the role assignments.
// The Event Grid subscriptions come after the code is deployed: blobEventSubscriptions.bicep.

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

@description('Most instances the Function App scales out to (Flex Consumption: 40 to 1000)')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

@description('Storage account redundancy')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('PostgreSQL compute size (Standard_B1ms is Burstable; Standard_D2ds_v5 is GeneralPurpose)')
param postgresSkuName string = 'Standard_B1ms'

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
@description('Days after their last write that session traces and example files are deleted from Blob Storage')
@minValue(1)
param retentionDays int = 365

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

@description('STRIPE_TOKENS_PRICE_ID, printed by `npm run stripe:setup`')
param stripeTokensPriceId string = ''

@description('STRIPE_STORAGE_PRICE_ID, printed by `npm run stripe:setup`')
param stripeStoragePriceId string = ''

@description('ENTRA_ISSUER of the storefront\'s Microsoft Entra External ID tokens; empty: Bearer tokens are refused')
param entraIssuer string = ''

@description('ENTRA_AUDIENCE those tokens are issued for')
param entraAudience string = ''

// ---- who runs the deployment ----------------------------------------------------------------------------------
@description('Object id of the principal running azd (azd sets AZURE_PRINCIPAL_ID): a PostgreSQL administrator, so that the postdeploy hook can run the migrations')
param principalId string = ''

@description('That principal\'s name as PostgreSQL knows it: a user\'s UPN (the default, from deployer()), a group\'s or service principal\'s display name')
param principalName string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('Public IP address of the machine that runs the migrations (the preprovision hook finds it); empty: none')
param postgresClientIp string = ''

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
// Names the code uses (shared/storage/layout.ts): test/infra.test.ts checks that the two agree.
var uploadsContainerName = 'uploads'
var sessionsContainerName = 'sessions'
var examplesContainerName = 'examples'
var exampleJobsQueueName = 'example-jobs'
// </storage-layout>

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

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: storageAccountName
    skuName: storageSkuName
    containerNames: [
      uploadsContainerName
      sessionsContainerName
      examplesContainerName
      deploymentContainerName
    ]
    queueNames: [
      exampleJobsQueueName
    ]
    retentionPrefixes: [
      '${sessionsContainerName}/'
      '${examplesContainerName}/'
    ]
    retentionDays: retentionDays
    stagingPrefixes: [
      '${uploadsContainerName}/'
    ]
  }
}

module eventGridTopic 'modules/eventGridTopic.bicep' = {
  name: 'eventGridTopic'
  params: {
    location: location
    tags: tags
    name: 'evgt-${resourceToken}'
    storageAccountId: storage.outputs.id
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
    clientIpAddress: postgresClientIp
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
  }
}

module roleAssignments 'modules/roleAssignments.bicep' = {
  name: 'roleAssignments'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    exampleJobsQueueName: exampleJobsQueueName
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

// The app's identity logs in as itself; the deploying principal runs the migrations (infra/hooks/postdeploy.mjs).
var appAdministrator = {
  objectId: functionApp.outputs.principalId
  principalName: functionAppName
  principalType: 'ServicePrincipal'
}
var deployerAdministrators = empty(principalId) || empty(postgresAdminName) ? [] : [
  {
    objectId: principalId
    principalName: postgresAdminName
    principalType: principalType
  }
]

module postgresAdministrators 'modules/postgresAdministrators.bicep' = {
  name: 'postgresAdministrators'
  params: {
    serverName: postgres.outputs.name
    administrators: concat([appAdministrator], deployerAdministrators)
  }
}

// <app-settings>
// The Function App's app settings: what shared/config.ts reads in production, and the platform's own. One
// setting per line: test/infra.test.ts reads this block and checks it against the configuration schema.
// Secrets are Key Vault references without a version: the app follows the latest version of each secret.
var appSettings = {
  AzureWebJobsStorage__blobServiceUri: 'https://${storageAccountName}.blob.${environment().suffixes.storage}'
  AzureWebJobsStorage__queueServiceUri: 'https://${storageAccountName}.queue.${environment().suffixes.storage}'
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  TRACEPIPE_ENV: 'production'
  DATABASE_AUTH: 'entra'
  DATABASE_URL: 'postgres://${functionAppName}@${postgres.outputs.fullyQualifiedDomainName}:5432/${databaseName}?sslmode=verify-full'
  AZURE_STORAGE_ACCOUNT_URL: 'https://${storageAccountName}.blob.${environment().suffixes.storage}/'
  API_KEY_HMAC_SECRET: '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=api-key-hmac-secret)'
  STRIPE_SECRET_KEY: empty(stripeSecretKey) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=stripe-secret-key)'
  STRIPE_WEBHOOK_SECRET: empty(stripeWebhookSecret) ? '' : '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=stripe-webhook-secret)'
  STRIPE_TOKENS_PRICE_ID: stripeTokensPriceId
  STRIPE_STORAGE_PRICE_ID: stripeStoragePriceId
  PUBLIC_BASE_URL: 'https://${functionAppName}.azurewebsites.net'
  ENTRA_ISSUER: entraIssuer
  ENTRA_AUDIENCE: entraAudience
}
// </app-settings>

module functionAppSettings 'modules/functionAppSettings.bicep' = {
  name: 'functionAppSettings'
  params: {
    functionAppName: functionApp.outputs.name
    appSettings: appSettings
  }
  dependsOn: [
    roleAssignments
    keyVault
  ]
}

// Outputs land in the azd environment (.azure/<env>/.env), where the hooks read them.
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output EVENT_GRID_SYSTEM_TOPIC_NAME string = eventGridTopic.outputs.name
output POSTGRES_HOST string = postgres.outputs.fullyQualifiedDomainName
output POSTGRES_DATABASE string = databaseName
output POSTGRES_ADMIN_NAME string = postgresAdminName
output POSTGRES_APP_ROLE string = functionAppName
