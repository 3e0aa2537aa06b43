// The server's Microsoft Entra administrators: the deploying principal, who runs the migrations and makes the app's
// role (infra/hooks/predeploy.mjs). The app itself is no administrator. The resource name is the principal's object id.
// https://learn.microsoft.com/azure/templates/microsoft.dbforpostgresql/flexibleservers/administrators

param serverName string
@description('[{ objectId, principalName, principalType: User | Group | ServicePrincipal }]')
param administrators array

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' existing = {
  name: serverName
}

// One at a time: the server refuses concurrent changes.
@batchSize(1)
resource admins 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = [for admin in administrators: {
  parent: server
  name: admin.objectId
  properties: {
    principalName: admin.principalName
    principalType: admin.principalType
    tenantId: tenant().tenantId
  }
}]
