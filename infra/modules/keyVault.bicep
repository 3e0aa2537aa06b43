// Key Vault for the app's secrets, read by the Function App through Key Vault references in its app settings
// (Key Vault Secrets User, roleAssignments.bicep). RBAC authorization, no access policies.
// https://learn.microsoft.com/azure/app-service/app-service-key-vault-references

param location string
param tags object
param name string

@secure()
@description('API_KEY_HMAC_SECRET: API keys are stored only as HMAC-SHA-256 under it')
param apiKeyHmacSecret string
@secure()
@description('STRIPE_SECRET_KEY; empty: no secret (Stripe stays off unless it is already in the vault)')
param stripeSecretKey string
@secure()
@description('STRIPE_WEBHOOK_SECRET; empty: no secret')
param stripeWebhookSecret string
@secure()
@description('STRIPE_EVENTS_WEBHOOK_SECRET (thin events); empty: no secret')
param stripeEventsWebhookSecret string

// Secret names: the app settings in main.bicep refer to these (test/api/infra.test.ts checks both sides).
var apiKeyHmacSecretName = 'api-key-hmac-secret'
var stripeSecretKeyName = 'stripe-secret-key'
var stripeWebhookSecretName = 'stripe-webhook-secret'
var stripeEventsWebhookSecretName = 'stripe-events-webhook-secret'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // A deleted vault or secret cannot be purged before its retention ends, by anyone: the HMAC secret behind every
    // API key cannot be lost to one mistaken command. (Purge protection cannot be turned off again.)
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource apiKeyHmac 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: apiKeyHmacSecretName
  properties: {
    value: apiKeyHmacSecret
  }
}

resource stripeKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(stripeSecretKey)) {
  parent: vault
  name: stripeSecretKeyName
  properties: {
    value: stripeSecretKey
  }
}

resource stripeWebhook 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(stripeWebhookSecret)) {
  parent: vault
  name: stripeWebhookSecretName
  properties: {
    value: stripeWebhookSecret
  }
}

resource stripeEventsWebhook 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(stripeEventsWebhookSecret)) {
  parent: vault
  name: stripeEventsWebhookSecretName
  properties: {
    value: stripeEventsWebhookSecret
  }
}

output name string = vault.name
