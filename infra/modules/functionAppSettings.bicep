// The Function App's app settings, all of them (this replaces the set). Deployed after the role assignments so
// that the Key Vault references resolve at once. The settings themselves are written in main.bicep.

param functionAppName string
param appSettings object

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: appSettings
}
