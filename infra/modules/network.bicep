// The virtual network the Function App reaches PostgreSQL through (no public firewall rule lets it in): a subnet
// delegated to Flex Consumption's virtual network integration, and one for private endpoints.
// https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#enable-virtual-network-integration
// A Flex Consumption app may use up to 40 addresses of its subnet, however far it scales: a /24 holds it.

param location string
param tags object
param name string

var addressPrefix = '10.20.0.0/16'
var appSubnetName = 'app'
var privateEndpointSubnetName = 'private-endpoints'

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        // No underscores in the name: Flex Consumption's virtual network integration refuses them.
        name: appSubnetName
        properties: {
          addressPrefix: '10.20.0.0/24'
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: privateEndpointSubnetName
        properties: {
          addressPrefix: '10.20.1.0/24'
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

output id string = vnet.id
output appSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, appSubnetName)
output privateEndpointSubnetId string = resourceId('Microsoft.Network/virtualNetworks/subnets', vnet.name, privateEndpointSubnetName)
