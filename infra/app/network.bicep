// Private networking (vnetEnabled, on by default): a VNet with a subnet for the function app's
// outbound integration, one for API Management Standard v2's outbound integration, and one for
// private endpoints. With it, host storage and Key Vault are reachable only privately, and with
// Standard v2 so is the function app: APIM reaches it through its private endpoint.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Virtual network name.')
param vnetName string

@description('Address space of the VNet.')
param addressPrefix string = '10.40.0.0/16'

@description('Subnet for the function app outbound integration (Flex Consumption: delegated to Microsoft.App/environments).')
param appSubnetPrefix string = '10.40.1.0/24'

@description('Subnet for private endpoints.')
param privateEndpointSubnetPrefix string = '10.40.2.0/24'

@description('Subnet for API Management Standard v2 outbound integration (dedicated to one APIM instance, delegated to Microsoft.Web/serverFarms, /27 at least, /24 recommended).')
param apimSubnetPrefix string = '10.40.3.0/24'

@description('Network security group name prefix.')
param nsgNamePrefix string

// No inbound rules beyond Azure's defaults: nothing listens in these subnets except private
// endpoints, which only the VNet reaches.
resource appNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${nsgNamePrefix}app'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource privateEndpointNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${nsgNamePrefix}private-endpoints'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

// API Management requires a network security group on its integration subnet; no rules needed.
resource apimNsg 'Microsoft.Network/networkSecurityGroups@2024-05-01' = {
  name: '${nsgNamePrefix}apim'
  location: location
  tags: tags
  properties: {
    securityRules: []
  }
}

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: vnetName
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
        name: 'app'
        properties: {
          addressPrefix: appSubnetPrefix
          networkSecurityGroup: {
            id: appNsg.id
          }
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
        name: 'private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          networkSecurityGroup: {
            id: privateEndpointNsg.id
          }
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
      {
        // Created with the VNet whatever the tier (an empty subnet costs nothing), so switching to
        // Standard v2 later needs no network change.
        name: 'apim'
        properties: {
          addressPrefix: apimSubnetPrefix
          networkSecurityGroup: {
            id: apimNsg.id
          }
          delegations: [
            {
              name: 'apim-v2-integration'
              properties: {
                serviceName: 'Microsoft.Web/serverFarms'
              }
            }
          ]
        }
      }
    ]
  }
}

output vnetId string = vnet.id
output appSubnetId string = '${vnet.id}/subnets/app'
output privateEndpointSubnetId string = '${vnet.id}/subnets/private-endpoints'
output apimSubnetId string = '${vnet.id}/subnets/apim'
