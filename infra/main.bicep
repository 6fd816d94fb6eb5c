// Microsoft 365 MCP server on Azure: a Rust custom handler on Flex Consumption behind API
// Management, with Entra ID for every identity and Key Vault for the two generated secrets (the
// gateway proof APIM shares with the handler, the handler's signing key).
// docs/DEPLOY.md explains what each resource is for; one module per concern under infra/app/.
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------
// azd environment
// ---------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('azd environment name; used in the resource group name and to derive unique names.')
param environmentName string

// Regions that offer Flex Consumption and both API Management v2 tiers this template allows
// (Basic v2 and Standard v2), so a region without them fails here, before any identity or app
// registration exists. The list is the intersection of:
// - Flex Consumption: Microsoft's Flex Consumption samples' @allowed list (for example
//   Azure-Samples/mcp-sdk-functions-hosting-python infra/main.bicep), which follows
//   `az functionapp list-flexconsumption-locations` (Learn: azure-functions/flex-consumption-how-to,
//   "View currently supported regions"); eastus2euap left out (canary region).
// - API Management v2 tiers: Learn "Azure API Management - Availability of v2 tiers and workspace
//   gateways" (azure/api-management/api-management-region-availability, 2026-04-24), regions with
//   both Basic v2 and Standard v2. UK South is left out while that page reports new Basic v2 and
//   Standard v2 instances there as temporarily unavailable; southeastasia, spaincentral,
//   westcentralus and westus3 lack a v2 tier there.
// Re-check both sources when adding a region; tests/infra/test_first_deployment.py holds the two
// lists as cited and fails on a region missing from either.
@minLength(1)
@description('Region for every resource: one that offers Flex Consumption and the API Management v2 tiers.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southindia'
  'swedencentral'
  'uaenorth'
  'ukwest'
  'westeurope'
  'westus'
  'westus2'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

// ---------------------------------------------------------------------------------------------
// Function app
// ---------------------------------------------------------------------------------------------

@description('Memory per Flex Consumption instance, in MB.')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

// Modest by default: the lowest maximum Flex Consumption accepts. It bounds what a burst of
// traffic (or of rejected requests reaching a public endpoint) can cost; raise it for real load.
@description('Maximum instances the Flex Consumption app scales out to (MCP_FUNCTION_MAXIMUM_INSTANCE_COUNT).')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@description('Public network access of the function app when APIM reaches it through a private endpoint (Standard v2 with the VNet). Enabled keeps only the deployment (SCM) endpoint public, Entra-authenticated, so azd can deploy from outside the VNet; the app endpoint itself denies all public traffic. Disabled closes both: deploy from inside the VNet then.')
@allowed([
  'Enabled'
  'Disabled'
])
param functionPublicNetworkAccess string = 'Enabled'

@description('Spread the function app across availability zones (only where Flex Consumption offers them).')
param functionZoneRedundant bool = false

// ---------------------------------------------------------------------------------------------
// Entra app registration and authorization
// ---------------------------------------------------------------------------------------------

@description('Display name of the server app registration.')
param appDisplayName string = 'Microsoft 365 MCP server (${environmentName})'

@description('Delegated scope every user token must carry (MCP_REQUIRED_SCOPE).')
param requiredScopeName string = 'user_impersonation'

@description('Comma-separated client app ids allowed to call (MCP_ALLOWED_CLIENT_APPS); empty allows any client of the tenant.')
param allowedClientApps string = ''

@description('Comma-separated app roles that admit app-only callers (MCP_ALLOWED_APP_ROLES), for example MCP.Operator; empty admits none.')
param allowedAppRoles string = ''

@description('Comma-separated client app ids pre-authorized for the delegated scope. VS Code is aebc6443-996d-45c2-90f0-388ff96faa56.')
param preAuthorizedClientAppIds string = ''

@description('Grant tenant-wide admin consent for the Graph permissions (deployer needs Cloud Application Administrator or higher).')
param grantAdminConsent bool = false

@description('Require assignment to the app before Entra issues a token for it.')
param appRoleAssignmentRequired bool = false

@description('Comma-separated toolsets the handler enables (MCP_TOOLSETS): profile, calendar, mail, people, files, tasks, search, and write (send_mail, create_event; callers also need the MCP.Writer app role). The app registration requests exactly their delegated Graph permissions (infra/app/graph-permissions.json).')
param toolsets string = 'profile,calendar,mail,people,files,tasks,search'

@description('Suffix of the app registration\'s unique name. Set a new one to redeploy after deleting the registration: Entra keeps a deleted registration, and its unique name, for 30 days (docs/DEPLOY.md, "Tearing down").')
@maxLength(16)
param appRegistrationSuffix string = ''

// ---------------------------------------------------------------------------------------------
// API Management
// ---------------------------------------------------------------------------------------------

// No PremiumV2: it is not a sku.name value at the API version declared for API Management
// (2024-05-01; it first appears in 2025-03-01-preview), and only the declared version's type
// definitions can be checked offline (tests/infra/test_resource_types.py).
@description('API Management tier; only tiers that support MCP APIs. Standard v2 (the default) reaches the function app through the VNet; see docs/DEPLOY.md for what each tier locks down.')
@allowed([
  'BasicV2'
  'StandardV2'
  'Developer'
  'Basic'
  'Standard'
  'Premium'
])
param apimSku string = 'StandardV2'

// No default here, so a deployment outside azd must choose one; main.parameters.json gives azd a
// default (MCP_APIM_PUBLISHER_EMAIL, noreply@example.com) so `azd up --no-prompt` and CI run
// unattended.
@description('API Management publisher e-mail: API Management requires one and sends service notices to it.')
@minLength(3)
@maxLength(100)
param apimPublisherEmail string

@description('API Management publisher name.')
param apimPublisherName string = 'Microsoft 365 MCP server'

@description('Record callers\' IP addresses in the API Management gateway logs. IP addresses are personal data (GDPR): turn on only with a purpose, a legal basis and a retention that match.')
param apimLogClientIp bool = false

@description('Requests each caller (tid:oid) may make per period.')
@minValue(1)
param rateLimitCalls int = 120

@description('Rate-limit period in seconds (at most 300).')
@minValue(1)
@maxValue(300)
param rateLimitPeriodSeconds int = 60

@description('Custom domain that fronts APIM, for example mcp.contoso.com (a verified domain of the tenant); empty for none.')
param customDomainHostName string = ''

@description('Name of the Key Vault certificate (imported into this deployment\'s vault) for the custom domain.')
param customDomainCertificateName string = ''

// ---------------------------------------------------------------------------------------------
// Key Vault, the gateway proof and the signing key
// ---------------------------------------------------------------------------------------------

@description('Public network access to Key Vault. With the VNet the firewall already denies public traffic (trusted Azure services excepted); Disabled also closes that exception and needs an APIM tier with VNet integration.')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Enabled'

@description('Key Vault soft-delete retention in days (fixed once the vault exists).')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionDays int = 90

@description('Gateway-proof secret version in use (an output of the previous deployment, kept in the azd environment). Empty creates a new version: first deployment or rotation.')
param gatewayProofVersion string = ''

@description('Signing-key secret version in use (an output of the previous deployment, kept in the azd environment). Empty creates a new version: first deployment or rotation.')
param signingKeyVersion string = ''

// The values themselves are never parameters here: generated-secret.bicep generates them inside
// Azure.

@description('Who issues tokens to MCP clients: entra (Entra ID directly; VS Code needs a custom domain) or broker (the handler\'s built-in authorization server, which signs users in at Entra). Empty: broker without a custom domain, entra with one.')
@allowed([
  ''
  'entra'
  'broker'
])
param authorizationMode string = ''

@description('Broker mode: sealing-key secret version in use (an output of the previous deployment, kept in the azd environment). Empty creates a new version: first deployment or rotation.')
param brokerSealingKeyVersion string = ''

// ---------------------------------------------------------------------------------------------
// Network and monitoring
// ---------------------------------------------------------------------------------------------

@description('Create a VNet: outbound integration for the function app (and for APIM Standard v2), private endpoints for storage, Key Vault and (Standard v2) the function app, and firewalls that deny public traffic.')
param vnetEnabled bool = true

@description('Action groups (resource ids) the alert rules notify; empty: alerts show in Azure Monitor only.')
param alertActionGroupIds array = []

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// ---------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var serviceName = 'mcp'

// The handler's contract (docs/DEPLOY.md, "App settings"): APIM sends the proof in this header,
// Key Vault keeps it under this name.
var gatewayProofHeaderName = 'x-mcp-gateway-proof'
var gatewayProofSecretName = 'mcp-gateway-proof'
// The key of the paging cursors and write confirmations the handler hands out; every instance
// reads the same secret, so any instance accepts what another issued.
var signingKeySecretName = 'mcp-signing-key'
// Without a custom domain Entra cannot accept the `resource` RFC 8707 clients send, so the
// handler brokers the sign-in unless told otherwise (docs/DEPLOY.md, "Broker mode").
var effectiveAuthorizationMode = empty(authorizationMode) ? (empty(customDomainHostName) ? 'broker' : 'entra') : authorizationMode
var brokerMode = effectiveAuthorizationMode == 'broker'
var brokerContainerName = 'mcp-broker'
var brokerSealingKeySecretName = 'mcp-broker-sealing-key'

var functionAppName = '${abbrs.webSitesFunctions}${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}'
var apimName = '${abbrs.apiManagementService}${resourceToken}'

// How APIM reaches the function app, and so how tightly the app's own endpoint is closed:
// - privateEndpoint: Standard v2 integrates with the VNet for outbound traffic and reaches the app
//   through a private endpoint; the app denies all public traffic.
// - apimAddresses: classic tiers have static public addresses; the app admits only those.
// - gatewayProofOnly: Basic v2 (and Standard v2 without the VNet) has neither VNet integration nor
//   static outbound addresses, and the ApiManagement service tag covers only the control plane,
//   not v2 gateways' outbound traffic. The app endpoint stays public and only the gateway proof
//   and token validation keep others out; MCP_WARNING_NETWORK says so after provisioning.
var isClassicApimTier = contains([
  'Developer'
  'Basic'
  'Standard'
  'Premium'
], apimSku)
var apimVnetIntegration = vnetEnabled && apimSku == 'StandardV2'
var functionInboundAccess = apimVnetIntegration ? 'privateEndpoint' : (isClassicApimTier ? 'apimAddresses' : 'gatewayProofOnly')

// Lists are passed without spaces so the handler and the APIM policy compare ids exactly.
var allowedClientAppsList = replace(allowedClientApps, ' ', '')
var allowedAppRolesList = replace(allowedAppRoles, ' ', '')
var preAuthorizedClientAppIdList = empty(trim(preAuthorizedClientAppIds)) ? [] : split(replace(preAuthorizedClientAppIds, ' ', ''), ',')
// The azd environment holds strings, so the toolsets arrive comma-separated (MCP_TOOLSETS) and are
// split here; the handler gets the same list, normalized, as its MCP_TOOLSETS setting.
var toolsetList = empty(trim(toolsets)) ? [] : split(replace(toolsets, ' ', ''), ',')
var toolsetsSetting = join(toolsetList, ',')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identities 'app/identity.bicep' = {
  name: 'identities'
  scope: rg
  params: {
    location: location
    tags: tags
    functionIdentityName: '${abbrs.managedIdentityUserAssignedIdentities}func-${resourceToken}'
    apimIdentityName: '${abbrs.managedIdentityUserAssignedIdentities}apim-${resourceToken}'
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    retentionInDays: logRetentionDays
    publisherPrincipalId: identities.outputs.functionIdentityPrincipalId
  }
}

module monitoringAlerts 'app/monitoring-alerts.bicep' = {
  name: 'monitoring-alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    namePrefix: 'alert-${resourceToken}'
    actionGroupIds: alertActionGroupIds
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    storageAccountName: '${abbrs.storageStorageAccounts}${resourceToken}'
    deploymentContainerName: deploymentContainerName
    functionPrincipalId: identities.outputs.functionIdentityPrincipalId
    privateNetworking: vnetEnabled
    brokerMode: brokerMode
    brokerContainerName: brokerContainerName
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    location: location
    tags: tags
    keyVaultName: '${abbrs.keyVaultVaults}${resourceToken}'
    publicNetworkAccess: keyVaultPublicNetworkAccess
    privateNetworking: vnetEnabled
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionDays
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    functionPrincipalId: identities.outputs.functionIdentityPrincipalId
    apimPrincipalId: identities.outputs.apimIdentityPrincipalId
    gatewayProofSecretName: gatewayProofSecretName
    gatewayProofVersion: gatewayProofVersion
    signingKeySecretName: signingKeySecretName
    signingKeyVersion: signingKeyVersion
    brokerMode: brokerMode
    brokerSealingKeySecretName: brokerSealingKeySecretName
    brokerSealingKeyVersion: brokerSealingKeyVersion
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    location: location
    tags: tags
    vnetName: '${abbrs.networkVirtualNetworks}${resourceToken}'
    nsgNamePrefix: '${abbrs.networkNetworkSecurityGroups}${resourceToken}-'
  }
}

module privateEndpoints 'app/private-endpoints.bicep' = if (vnetEnabled) {
  name: 'private-endpoints'
  scope: rg
  params: {
    location: location
    tags: tags
    vnetId: network!.outputs.vnetId
    subnetId: network!.outputs.privateEndpointSubnetId
    namePrefix: '${abbrs.networkPrivateEndpoints}${resourceToken}-'
    storageAccountId: storage.outputs.storageAccountId
    keyVaultId: keyVault.outputs.keyVaultId
    functionAppId: apimVnetIntegration ? functionApp.outputs.functionAppId : ''
  }
}

module entraApp 'app/entra-app.bicep' = {
  name: 'entra-app'
  scope: rg
  params: {
    uniqueName: 'mcp-m365-${environmentName}-${resourceToken}${empty(appRegistrationSuffix) ? '' : '-${appRegistrationSuffix}'}'
    displayName: appDisplayName
    requiredScopeName: requiredScopeName
    customDomainHostName: customDomainHostName
    preAuthorizedClientAppIds: preAuthorizedClientAppIdList
    grantAdminConsent: grantAdminConsent
    appRoleAssignmentRequired: appRoleAssignmentRequired
    federatedIdentityPrincipalId: identities.outputs.functionIdentityPrincipalId
    toolsets: toolsetList
    // Broker mode signs users in with this app at {public origin}/callback. The APIM host name
    // is fixed by the service name, so the app does not wait for APIM to exist.
    brokerRedirectUris: brokerMode ? [
      '${empty(customDomainHostName) ? 'https://${apimName}.azure-api.net' : 'https://${customDomainHostName}'}/callback'
    ] : []
  }
}

module apim 'app/apim.bicep' = {
  name: 'apim'
  scope: rg
  params: {
    location: location
    tags: tags
    apimName: apimName
    sku: apimSku
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    identityId: identities.outputs.apimIdentityId
    identityClientId: identities.outputs.apimIdentityClientId
    identityPrincipalId: identities.outputs.apimIdentityPrincipalId
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    customDomainHostName: customDomainHostName
    keyVaultName: keyVault.outputs.keyVaultName
    customDomainCertificateName: customDomainCertificateName
    virtualNetworkSubnetId: apimVnetIntegration ? network!.outputs.apimSubnetId : ''
    logClientIp: apimLogClientIp
  }
}

// What clients use: the custom domain when there is one (it is also the identifier URI, see
// entra-app.bicep), otherwise the APIM gateway. No trailing slash.
var publicOrigin = empty(customDomainHostName) ? apim.outputs.gatewayUrl : 'https://${customDomainHostName}'
var publicMcpUrl = '${publicOrigin}/mcp'
var resourceMetadataUrl = '${publicOrigin}/.well-known/oauth-protected-resource/mcp'

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    location: location
    tags: tags
    serviceName: serviceName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    functionAppName: functionAppName
    instanceMemoryMB: functionInstanceMemoryMB
    maximumInstanceCount: functionMaximumInstanceCount
    inboundAccess: functionInboundAccess
    apimPublicIpAddresses: isClassicApimTier ? apim.outputs.publicIpAddresses : []
    publicNetworkAccess: functionPublicNetworkAccess
    zoneRedundant: functionZoneRedundant
    identityId: identities.outputs.functionIdentityId
    identityClientId: identities.outputs.functionIdentityClientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    virtualNetworkSubnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    tenantId: tenant().tenantId
    clientId: entraApp.outputs.appId
    appIdUri: entraApp.outputs.appIdUri
    publicUrl: publicMcpUrl
    requiredScope: requiredScopeName
    allowedClientApps: allowedClientAppsList
    allowedAppRoles: allowedAppRolesList
    keyVaultUri: keyVault.outputs.keyVaultUri
    gatewayProofHeaderName: gatewayProofHeaderName
    gatewayProofSecretName: gatewayProofSecretName
    signingKeySecretName: signingKeySecretName
    toolsets: toolsetsSetting
    authorizationMode: effectiveAuthorizationMode
    brokerContainerName: brokerContainerName
    brokerSealingKeySecretName: brokerSealingKeySecretName
  }
}

module mcpApi 'app/apim-mcp-api.bicep' = {
  name: 'apim-mcp-api'
  scope: rg
  params: {
    apimName: apim.outputs.apimName
    functionAppHostName: functionApp.outputs.functionAppDefaultHostName
    tenantId: tenant().tenantId
    clientId: entraApp.outputs.appId
    appIdUri: entraApp.outputs.appIdUri
    requiredScope: requiredScopeName
    allowedClientApps: allowedClientAppsList
    allowedAppRoles: allowedAppRolesList
    resourceMetadataUrl: resourceMetadataUrl
    gatewayProofUriWithVersion: keyVault.outputs.gatewayProofUriWithVersion
    identityClientId: identities.outputs.apimIdentityClientId
    rateLimitCalls: rateLimitCalls
    rateLimitPeriodSeconds: rateLimitPeriodSeconds
    azureMonitorLoggerId: apim.outputs.azureMonitorLoggerId
    logClientIp: apimLogClientIp
    brokerMode: brokerMode
  }
  // The named values read Key Vault, and the backend is the function app: with the VNet both are
  // reached through private endpoints, which must exist first.
  dependsOn: [
    privateEndpoints
  ]
}

// Outputs land in the azd environment (.azure/<env>/.env). None of them is a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.functionAppName
output AZURE_APIM_NAME string = apim.outputs.apimName
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.keyVaultName
output MCP_PUBLIC_URL string = publicMcpUrl
output MCP_RESOURCE_METADATA_URL string = resourceMetadataUrl
output MCP_CLIENT_ID string = entraApp.outputs.appId
output MCP_APP_ID_URI string = entraApp.outputs.appIdUri
output MCP_SCOPE string = entraApp.outputs.fullRequiredScope
output MCP_SERVICE_PRINCIPAL_ID string = entraApp.outputs.servicePrincipalId
// Object id of the app registration: what a permanent delete or a restore of a deleted
// registration needs (docs/DEPLOY.md, "Tearing down").
output MCP_APP_OBJECT_ID string = entraApp.outputs.appObjectId
// The delegated Graph permissions the enabled toolsets requested (what admins consent to).
output MCP_GRAPH_PERMISSIONS string = entraApp.outputs.graphDelegatedScopes
output MANAGED_IDENTITY_CLIENT_ID string = identities.outputs.functionIdentityClientId
// VS Code (stable) sends the MCP URL as the OAuth `resource`, and Entra accepts there only an
// identifier URI of the app; *.azure-api.net cannot be one (it is not a domain the tenant can
// verify), so without a custom domain its sign-in fails with AADSTS9010010. Printed by azure.yaml's
// postprovision hook when not empty.
output MCP_WARNING_CUSTOM_DOMAIN string = empty(customDomainHostName) && !brokerMode ? 'No custom domain: VS Code cannot sign in to ${publicMcpUrl}. It sends that URL to Entra as the OAuth resource, and Entra accepts only an identifier URI of the app there (AADSTS9010010), which an azure-api.net URL cannot be. Clients that do not send the resource still work. For VS Code, set MCP_CUSTOM_DOMAIN and MCP_CUSTOM_DOMAIN_CERTIFICATE_NAME (docs/DEPLOY.md, "Custom domain and identifier URI").' : ''
// How APIM reaches the function app (privateEndpoint | apimAddresses | gatewayProofOnly).
output MCP_FUNCTION_APP_INBOUND string = functionInboundAccess
// Printed by azure.yaml's postprovision hook when not empty.
output MCP_WARNING_NETWORK string = functionInboundAccess == 'gatewayProofOnly' ? 'The function app endpoint is public: with ${apimSku}${vnetEnabled ? '' : ' and no VNet'} API Management can reach it neither privately nor from fixed addresses, so only the gateway proof and token validation keep others out. Use StandardV2 with MCP_VNET_ENABLED=true to close it (docs/DEPLOY.md, "Network isolation").' : ''
// The version (not the value) of the gateway proof in use. Fed back as gatewayProofVersion
// on the next provision so the secret is not rotated by every `azd up`.
output MCP_GATEWAY_PROOF_VERSION string = keyVault.outputs.gatewayProofVersion
// Likewise for the signing key: fed back as signingKeyVersion, so `azd up` keeps the key and with
// it every cursor and confirmation already handed out.
output MCP_SIGNING_KEY_VERSION string = keyVault.outputs.signingKeyVersion
// entra or broker, as the handler runs (MCP_AUTHORIZATION).
output MCP_AUTHORIZATION_MODE string = effectiveAuthorizationMode
// The sealing key's version (not its value). Fed back as brokerSealingKeyVersion so a later
// `azd up` keeps it; empty it in the azd environment to rotate (docs/DEPLOY.md, "Broker mode").
output MCP_BROKER_SEALING_KEY_VERSION string = keyVault.outputs.brokerSealingKeyVersion
