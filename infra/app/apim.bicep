// API Management: the first wall in front of the handler (token validation, per-user rate limit,
// gateway proof). Its only identity is a user-assigned one that may read the gateway-proof secret
// and, with a custom domain, that domain's certificate. The MCP API itself is in apim-mcp-api.bicep.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('API Management service name.')
param apimName string

// No PremiumV2: it is not a sku.name value at the API version declared for API Management
// (2024-05-01; it first appears in 2025-03-01-preview), and only the declared version's type
// definitions can be checked offline (tests/infra/test_resource_types.py).
@description('Tier. Only tiers that support MCP servers in API Management are allowed (not Consumption).')
@allowed([
  'BasicV2'
  'StandardV2'
  'Developer'
  'Basic'
  'Standard'
  'Premium'
])
param sku string

@description('Publisher e-mail (API Management requires one; it receives service notifications).')
param publisherEmail string

@description('Publisher name.')
param publisherName string

@description('Resource id of the API Management identity.')
param identityId string

@description('Client id of the API Management identity.')
param identityClientId string

@description('Log Analytics workspace for gateway logs.')
param logAnalyticsId string

@description('Custom domain for the gateway; empty for none.')
param customDomainHostName string

@description('Versionless Key Vault secret URI of the custom-domain certificate; used with customDomainHostName.')
param customDomainCertificateUri string

var isClassicTier = contains([
  'Developer'
  'Basic'
  'Standard'
  'Premium'
], sku)

// Classic tiers still let old protocols be switched on; pin them off. v2 tiers do not expose
// these switches.
var classicTlsHardening = {
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls10': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Tls11': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Protocols.Ssl30': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls10': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Tls11': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Backend.Protocols.Ssl30': 'false'
  'Microsoft.WindowsAzure.ApiManagement.Gateway.Security.Ciphers.TripleDes168': 'false'
}

// The default *.azure-api.net host stays; the custom domain is added with a certificate APIM reads
// from Key Vault through its identity (versionless URI: renewals are picked up automatically).
var hostnameConfigurations = empty(customDomainHostName) ? [] : [
  {
    type: 'Proxy'
    hostName: '${apimName}.azure-api.net'
    certificateSource: 'BuiltIn'
    defaultSslBinding: false
    negotiateClientCertificate: false
  }
  {
    type: 'Proxy'
    hostName: customDomainHostName
    certificateSource: 'KeyVault'
    keyVaultId: customDomainCertificateUri
    identityClientId: identityClientId
    defaultSslBinding: true
    negotiateClientCertificate: false
  }
]

resource apim 'Microsoft.ApiManagement/service@2024-05-01' = {
  // checkov:skip=CKV_AZURE_107: VNet injection is not available on every allowed tier (Basic v2); the gateway is the public entry point by design.
  // checkov:skip=CKV_AZURE_174: The gateway is the public entry point for MCP clients by design; every API on it validates Entra tokens.
  name: apimName
  location: location
  tags: tags
  sku: {
    name: sku
    capacity: 1
  }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
    publicNetworkAccess: 'Enabled'
    hostnameConfigurations: hostnameConfigurations
    customProperties: isClassicTier ? classicTlsHardening : {}
  }
}

// Gateway logs (request metadata, no payloads: see the API diagnostic in apim-mcp-api.bicep) go
// to Log Analytics in resource-specific tables.
resource gatewayLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'gateway-to-log-analytics'
  scope: apim
  properties: {
    workspaceId: logAnalyticsId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'GatewayLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// Service-wide default for every API's Azure Monitor logging: no headers and no bodies. MCP
// responses must not be buffered for logging, and tokens and mailbox data must not land in logs.
// The MCP API repeats the same settings at its own scope (apim-mcp-api.bicep).
var noPayload = {
  headers: []
  body: {
    bytes: 0
  }
}

resource noPayloadLogging 'Microsoft.ApiManagement/service/diagnostics@2024-05-01' = {
  parent: apim
  name: 'azuremonitor'
  properties: {
    loggerId: '${apim.id}/loggers/azuremonitor'
    alwaysLog: 'allErrors'
    logClientIp: true
    verbosity: 'information'
    sampling: {
      samplingType: 'fixed'
      percentage: 100
    }
    frontend: {
      request: noPayload
      response: noPayload
    }
    backend: {
      request: noPayload
      response: noPayload
    }
  }
}

output apimName string = apim.name
output gatewayUrl string = apim.properties.gatewayUrl
