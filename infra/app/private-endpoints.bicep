// Private endpoints and their DNS zones: host storage (blob) and Key Vault, which the handler
// calls from inside the VNet, and, with API Management Standard v2, the function app itself, which
// APIM calls through its VNet integration. Each zone is linked to the VNet so the public names
// resolve to the private addresses from inside it.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('VNet the zones are linked to.')
param vnetId string

@description('Subnet that holds the private endpoints.')
param subnetId string

@description('Private endpoint name prefix.')
param namePrefix string

@description('Host storage account id.')
param storageAccountId string

@description('Key Vault id.')
param keyVaultId string

@description('Function app id, when API Management reaches it privately (Standard v2); empty otherwise.')
param functionAppId string

var endpoints = [
  {
    name: 'blob'
    serviceId: storageAccountId
    groupId: 'blob'
    zone: 'privatelink.blob.${environment().suffixes.storage}'
  }
  {
    name: 'vault'
    serviceId: keyVaultId
    groupId: 'vault'
    // Key Vault's private link zone has no environment() suffix; this is the public cloud's.
    zone: 'privatelink.vaultcore.azure.net'
  }
]

resource zones 'Microsoft.Network/privateDnsZones@2020-06-01' = [for endpoint in endpoints: {
  name: endpoint.zone
  location: 'global'
  tags: tags
}]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = [for (endpoint, i) in endpoints: {
  parent: zones[i]
  name: 'vnet-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnetId
    }
  }
}]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [for endpoint in endpoints: {
  name: '${namePrefix}${endpoint.name}'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: endpoint.name
        properties: {
          privateLinkServiceId: endpoint.serviceId
          groupIds: [
            endpoint.groupId
          ]
        }
      }
    ]
  }
}]

// The function app's inbound private endpoint: with it, the app denies all public traffic to its
// endpoint (function-app.bicep) and APIM's requests arrive here. The zone has no environment()
// suffix; this is the public cloud's.
var siteEndpointEnabled = !empty(functionAppId)

resource siteZone 'Microsoft.Network/privateDnsZones@2020-06-01' = if (siteEndpointEnabled) {
  name: 'privatelink.azurewebsites.net'
  location: 'global'
  tags: tags
}

resource siteZoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = if (siteEndpointEnabled) {
  parent: siteZone
  name: 'vnet-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnetId
    }
  }
}

resource sitePrivateEndpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = if (siteEndpointEnabled) {
  name: '${namePrefix}site'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: 'site'
        properties: {
          privateLinkServiceId: functionAppId
          groupIds: [
            'sites'
          ]
        }
      }
    ]
  }
}

resource siteZoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = if (siteEndpointEnabled) {
  parent: sitePrivateEndpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'site'
        properties: {
          privateDnsZoneId: siteZone.id
        }
      }
    ]
  }
}

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [for (endpoint, i) in endpoints: {
  parent: privateEndpoints[i]
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: endpoint.name
        properties: {
          privateDnsZoneId: zones[i].id
        }
      }
    ]
  }
}]
