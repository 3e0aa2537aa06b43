// The Function App's app settings, all of them (this replaces the set). Deployed after the role assignments so
// that the Key Vault references resolve at once. The settings themselves are written in main.bicep.

param functionAppName string
param appSettings object

// The pool main.bicep's connection budget leaves each instance (it is DATABASE_POOL_MAX in appSettings). Below 1,
// the PostgreSQL size cannot hold the instance cap: the deployment stops here rather than starting an app whose
// instances would exhaust the server's connections.
@minValue(1)
@description('Connections per instance (main.bicep connection-budget); below 1 the server is too small for functionMaximumInstanceCount: choose a larger postgresSkuName')
param databasePoolMax int

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(appSettings, {
    DATABASE_POOL_MAX: string(databasePoolMax)
  })
}
