// API Management: the first wall in front of the handler (token validation, per-user rate limit,
// gateway proof). Its only identity is a user-assigned one that may read the gateway-proof secret
// (keyvault.bicep) and, with a custom domain, that domain's certificate (granted here, right
// before the service that reads it). The MCP API itself is in apim-mcp-api.bicep.

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

@description('Principal (object) id of the API Management identity.')
param identityPrincipalId string

@description('Log Analytics workspace for gateway logs.')
param logAnalyticsId string

@description('Subnet (delegated to Microsoft.Web/serverFarms) for Standard v2 outbound VNet integration; empty for none.')
param virtualNetworkSubnetId string

@description('Record callers\' IP addresses in gateway logs (personal data; off unless there is a reason).')
param logClientIp bool

@description('Custom domain for the gateway; empty for none.')
param customDomainHostName string

@description('This deployment\'s Key Vault, which holds the custom-domain certificate.')
param keyVaultName string

@description('Name of the Key Vault certificate (its secret) for the custom domain; empty when there is none.')
param customDomainCertificateName string

// Key Vault Secrets User: read secret values (a certificate's private key is read as its secret).
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
var hasCustomDomainCertificate = !empty(customDomainCertificateName)

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource customDomainCertificate 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = if (hasCustomDomainCertificate) {
  parent: vault
  name: customDomainCertificateName
}

// Scoped to the one certificate, not the vault. API Management reads the certificate while the
// service is created or updated, so the service below depends on this assignment explicitly: it
// must exist before the read. (Entra can take a few minutes to propagate a new assignment; if the
// first provision with a custom domain reports that Key Vault denied the certificate, run
// `azd provision` again, see docs/DEPLOY.md.) The name is the one keyvault.bicep used before this
// moved here, so an existing assignment is updated in place instead of conflicting.
resource customDomainCertificateReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (hasCustomDomainCertificate) {
  name: guid(vault.id, customDomainCertificateName, identityPrincipalId, keyVaultSecretsUserRoleId)
  scope: customDomainCertificate
  properties: {
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
  }
}

// Versionless: renewals of the certificate are picked up automatically.
var customDomainCertificateUri = '${vault.properties.vaultUri}secrets/${customDomainCertificateName}'

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
  // checkov:skip=CKV_AZURE_107: The gateway is the public entry point by design (inbound VNet injection would hide it from MCP clients); Standard v2 integrates with the VNet for outbound traffic only.
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
    // Outbound only (Standard v2): the gateway stays public for clients and reaches the function
    // app's private endpoint through the VNet.
    virtualNetworkType: empty(virtualNetworkSubnetId) ? 'None' : 'External'
    virtualNetworkConfiguration: empty(virtualNetworkSubnetId) ? null : {
      subnetResourceId: virtualNetworkSubnetId
    }
    hostnameConfigurations: hostnameConfigurations
    customProperties: isClassicTier ? classicTlsHardening : {}
  }
  dependsOn: [
    customDomainCertificateReader
  ]
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

// The Azure Monitor logger the diagnostics below write through (to the resource-specific gateway
// log tables of the diagnostic setting above). Declared so that every diagnostic that names it
// depends on it, instead of relying on the logger API Management creates on its own.
resource azureMonitorLogger 'Microsoft.ApiManagement/service/loggers@2024-05-01' = {
  parent: apim
  name: 'azuremonitor'
  properties: {
    loggerType: 'azureMonitor'
    isBuffered: true
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
    loggerId: azureMonitorLogger.id
    alwaysLog: 'allErrors'
    logClientIp: logClientIp
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
output azureMonitorLoggerId string = azureMonitorLogger.id
// Classic tiers' static public addresses (v2 tiers have none): the function app admits only them.
output publicIpAddresses array = isClassicTier ? apim.properties.publicIPAddresses : []
output gatewayUrl string = apim.properties.gatewayUrl
