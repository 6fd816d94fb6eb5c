// The handler: a Flex Consumption (Linux) function app running the `handler` binary as a custom
// handler. host.json (configurationProfile mcp-custom-handler, anonymous authorization level)
// routes every request to the binary; authorization is the handler's own (gateway proof, then
// Entra token validation), so no function, host or master key is ever used or handed out.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('azd service name; azd finds the app to deploy to by this tag.')
param serviceName string

@description('Flex Consumption plan name.')
param planName string

@description('Function app name.')
param functionAppName string

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Upper bound on instances the plan scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Spread instances across availability zones (only in regions where Flex Consumption offers zones).')
param zoneRedundant bool

@description('Resource id of the handler identity.')
param identityId string

@description('Client id of the handler identity.')
param identityClientId string

@description('Blob endpoint of the host storage account.')
param storageBlobEndpoint string

@description('Container that holds the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (no key: local auth is disabled).')
param applicationInsightsConnectionString string

@description('Subnet for outbound VNet integration; empty without the VNet option.')
param virtualNetworkSubnetId string

@description('How API Management reaches the app: privateEndpoint (the app denies all public traffic), apimAddresses (only APIM\'s static public addresses), gatewayProofOnly (public; the gateway proof and token validation are the only gates).')
@allowed([
  'privateEndpoint'
  'apimAddresses'
  'gatewayProofOnly'
])
param inboundAccess string

@description('API Management\'s static public IPv4 addresses (classic tiers), admitted with apimAddresses.')
param apimPublicIpAddresses array

@description('With privateEndpoint: Enabled keeps the deployment (SCM) endpoint public for azd, Entra-authenticated; Disabled closes it too.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Entra tenant that issues the tokens the handler accepts.')
param tenantId string

@description('App id (client id) of the server app registration.')
param clientId string

@description('Identifier URI of the server app registration.')
param appIdUri string

@description('Public MCP URL clients use (APIM or custom domain + /mcp).')
param publicUrl string

@description('Delegated scope every user token must carry.')
param requiredScope string

@description('Comma-separated client app ids allowed to call; empty allows any client of the tenant.')
param allowedClientApps string

@description('Comma-separated app roles that admit app-only callers; empty admits none.')
param allowedAppRoles string

@description('Key Vault URI.')
param keyVaultUri string

@description('Header APIM adds with the gateway proof.')
param gatewayProofHeaderName string

@description('Key Vault secret that holds the gateway proof.')
param gatewayProofSecretName string

@description('Key Vault secret that holds the signing key of paging cursors and write confirmations.')
param signingKeySecretName string

@description('Who issues tokens to MCP clients: entra or broker (MCP_AUTHORIZATION).')
@allowed([
  'entra'
  'broker'
])
param authorizationMode string

@description('Broker mode: the Blob container for its state.')
param brokerContainerName string

@description('Broker mode: the Key Vault secret holding the sealing key.')
param brokerSealingKeySecretName string

@description('Comma-separated toolsets the handler enables (MCP_TOOLSETS); the app registration requests exactly their Graph permissions.')
param toolsets string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Zone redundancy is a parameter (zoneRedundant): not every Flex Consumption region offers zones.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

// Inbound rules for the app endpoint (the deployment endpoint, SCM, has its own, below). Traffic
// through the private endpoint is not subject to them, so with privateEndpoint no rule and a
// default of Deny leave the private endpoint as the only way in.
var apimAddressRules = [for (address, i) in apimPublicIpAddresses: {
  name: 'apim-${i}'
  description: 'API Management (static public address)'
  ipAddress: '${address}/32'
  action: 'Allow'
  tag: 'Default'
  priority: 100 + i
}]

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero per request; always-ready instances are a cost decision, not a failover setting.
  // checkov:skip=CKV_AZURE_213: Flex Consumption has no App Service health check; the Functions host polls the handler's GET / for readiness.
  // checkov:skip=CKV_AZURE_17: Client certificates do not fit MCP clients (bearer tokens); APIM proves itself with the Key Vault gateway proof instead.
  // checkov:skip=CKV_AZURE_222: Closed where the tier allows: the app endpoint denies all public traffic (private endpoint) or admits only APIM's addresses; the property itself stays Enabled by default so azd can reach the Entra-only deployment endpoint.
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    // Only the private-endpoint posture can close everything; APIM reaches the others publicly.
    publicNetworkAccess: inboundAccess == 'privateEndpoint' ? publicNetworkAccess : 'Enabled'
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      ipSecurityRestrictions: inboundAccess == 'apimAddresses' ? apimAddressRules : []
      ipSecurityRestrictionsDefaultAction: inboundAccess == 'gatewayProofOnly' ? 'Allow' : 'Deny'
      // The deployment endpoint: azd publishes the package here with an Entra token (basic
      // publishing credentials are off, below), from wherever the operator runs it.
      scmIpSecurityRestrictionsUseMain: false
      scmIpSecurityRestrictionsDefaultAction: 'Allow'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      // The binary is self-contained: the custom runtime, no language stack (hosting notes §6).
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// Every setting the handler requires in Azure, the platform settings it runs on, and nothing
// else (tests/infra/test_app_settings.py compares this list with `handler --help`). Every other
// setting the handler reads is left at its default on purpose; LEFT_AT_DEFAULT in that test names
// each with its reason. Among them MCP_GATEWAY_PROOF (local development only: in Azure the proof
// comes from Key Vault) and GRAPH_BASE_URL, MCP_AUTHORITY_HOST (defaults fit Azure public cloud).
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov's App Service checks below read site settings (config 'web') and misfire on this
  // 'appsettings' resource; each is satisfied or skipped on the site resource above.
  // checkov:skip=CKV_AZURE_13: False positive (appsettings). Easy Auth stays off: the handler validates every Entra token itself.
  // checkov:skip=CKV_AZURE_63: False positive (appsettings); HTTP logs of Flex apps go to App Insights.
  // checkov:skip=CKV_AZURE_65: False positive (appsettings); detailed errors stay off (default).
  // checkov:skip=CKV_AZURE_66: False positive (appsettings); request tracing is App Insights'.
  // checkov:skip=CKV_AZURE_80: False positive: no .NET Framework, the handler is a Rust binary.
  // checkov:skip=CKV_AZURE_88: False positive: Flex Consumption has no Azure Files content share.
  // checkov:skip=CKV_AZURE_222: False positive (appsettings); see the site resource.
  parent: functionApp
  name: 'appsettings'
  properties: {
    MCP_TENANT_ID: tenantId
    MCP_CLIENT_ID: clientId
    MCP_APP_ID_URI: appIdUri
    MCP_PUBLIC_URL: publicUrl
    MCP_REQUIRED_SCOPE: requiredScope
    MCP_ALLOWED_CLIENT_APPS: allowedClientApps
    MCP_ALLOWED_APP_ROLES: allowedAppRoles
    MCP_ALLOWED_HOSTS: functionApp.properties.defaultHostName
    MANAGED_IDENTITY_CLIENT_ID: identityClientId
    KEY_VAULT_URL: keyVaultUri
    MCP_GATEWAY_PROOF_HEADER: gatewayProofHeaderName
    MCP_GATEWAY_PROOF_SECRET_NAME: gatewayProofSecretName
    MCP_SIGNING_KEY_SECRET_NAME: signingKeySecretName
    MCP_TOOLSETS: toolsets
    MCP_AUTHORIZATION: authorizationMode
    MCP_BROKER_BLOB_ENDPOINT: storageBlobEndpoint
    MCP_BROKER_BLOB_CONTAINER: brokerContainerName
    MCP_BROKER_SEALING_KEY_SECRET_NAME: brokerSealingKeySecretName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    AzureWebJobsFeatureFlags: 'EnableMcpCustomHandlerPreview'
  }
}

// No publishing with basic (username/password) credentials: azd deploys with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output functionAppName string = functionApp.name
output functionAppId string = functionApp.id
output functionAppDefaultHostName string = functionApp.properties.defaultHostName
