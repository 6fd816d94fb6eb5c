// The MCP API on API Management: POST/GET/DELETE /mcp (token required) and the two RFC 9728
// protected-resource metadata paths (anonymous), all forwarded to the function app.
//
// Why a plain HTTP API at the gateway root and not the native `type: 'mcp'` pass-through: the
// handler's contract is fixed at https://<host>/mcp with metadata at
// https://<host>/.well-known/oauth-protected-resource/mcp. A native MCP API needs a non-empty base
// path (https://<host>/<base>/mcp) and rewrites resource_metadata in the handler's challenges to
// include that path (auth notes §6), which breaks RFC 9728 path insertion. The handler is a
// stateless Streamable HTTP server answering JSON, so an HTTP API that forwards without buffering
// carries it unchanged. The tier is still one that supports MCP APIs, so switching later is a
// change to this file only.
//
// Policies live in infra/apim/policies/*.xml; the values they use are the named values below.

@description('API Management service name.')
param apimName string

@description('Default host name of the function app (the backend).')
param functionAppHostName string

@description('Entra tenant that issues the tokens.')
param tenantId string

@description('App id (client id) of the server app registration: the v2 token audience.')
param clientId string

@description('Identifier URI of the server app registration: the v1 token audience and scope prefix.')
param appIdUri string

@description('Delegated scope every user token must carry.')
param requiredScope string

@description('Comma-separated client app ids allowed to call; empty allows any client of the tenant.')
param allowedClientApps string

@description('Comma-separated app roles that admit app-only callers; empty admits none.')
param allowedAppRoles string

@description('Absolute URL of the protected-resource metadata for the MCP endpoint.')
param resourceMetadataUrl string

@description('Versioned Key Vault URI of the gateway-proof secret.')
param gatewayProofUriWithVersion string

@description('Client id of the API Management identity (reads the secret).')
param identityClientId string

@description('Requests per caller (tid:oid) per period.')
@minValue(1)
param rateLimitCalls int

@description('Rate-limit period in seconds.')
@minValue(1)
@maxValue(300)
param rateLimitPeriodSeconds int

@description('Resource id of the Azure Monitor logger (apim.bicep); the API diagnostic writes through it.')
param azureMonitorLoggerId string

@description('Record callers\' IP addresses in gateway logs (personal data; off unless there is a reason).')
param logClientIp bool

@description('Broker mode: route the built-in authorization server\'s endpoints (anonymous, rate-limited per client IP) to the handler.')
param brokerMode bool = false

resource apim 'Microsoft.ApiManagement/service@2024-05-01' existing = {
  name: apimName
}

// Plain (non-secret) named values: identifiers the policies compare tokens against.
resource tenantIdValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-tenant-id'
  properties: {
    displayName: 'mcp-tenant-id'
    value: tenantId
  }
}

resource clientIdValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-client-id'
  properties: {
    displayName: 'mcp-client-id'
    value: clientId
  }
}

resource appIdUriValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-app-id-uri'
  properties: {
    displayName: 'mcp-app-id-uri'
    value: appIdUri
  }
}

resource requiredScopeValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-required-scope'
  properties: {
    displayName: 'mcp-required-scope'
    value: requiredScope
  }
}

// Lists are stored wrapped in commas (",a,b,"; ",," when empty) because a named value may not be
// empty, and so the policy can test membership with Contains(",x,") without partial matches.
resource allowedClientAppsValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-allowed-client-apps'
  properties: {
    displayName: 'mcp-allowed-client-apps'
    value: ',${allowedClientApps},'
  }
}

resource allowedAppRolesValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-allowed-app-roles'
  properties: {
    displayName: 'mcp-allowed-app-roles'
    value: ',${allowedAppRoles},'
  }
}

resource resourceMetadataUrlValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-resource-metadata-url'
  properties: {
    displayName: 'mcp-resource-metadata-url'
    value: resourceMetadataUrl
  }
}

resource rateLimitCallsValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-rate-limit-calls'
  properties: {
    displayName: 'mcp-rate-limit-calls'
    value: string(rateLimitCalls)
  }
}

resource rateLimitPeriodValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-rate-limit-period'
  properties: {
    displayName: 'mcp-rate-limit-period'
    value: string(rateLimitPeriodSeconds)
  }
}

// The gateway proof, backed by Key Vault and read with APIM's own identity: the value never
// passes through this template, the parameters or the outputs. Pinned to a version so a rotation
// reaches APIM in the deployment that creates it (DEPLOY.md, "Rotating the gateway secret").
resource gatewayProofValue 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: apim
  name: 'mcp-gateway-proof'
  properties: {
    displayName: 'mcp-gateway-proof'
    secret: true
    keyVault: {
      secretIdentifier: gatewayProofUriWithVersion
      identityClientId: identityClientId
    }
  }
}

resource mcpApi 'Microsoft.ApiManagement/service/apis@2024-05-01' = {
  parent: apim
  name: 'mcp'
  properties: {
    displayName: 'Microsoft 365 MCP server'
    description: 'Remote MCP server (Streamable HTTP) with RFC 9728 protected-resource metadata.'
    type: 'http'
    path: ''
    protocols: [
      'https'
    ]
    serviceUrl: 'https://${functionAppHostName}'
    // MCP clients cannot send APIM subscription keys: callers are identified by their Entra token.
    subscriptionRequired: false
    isCurrent: true
  }
}

resource mcpApiPolicy 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = {
  parent: mcpApi
  name: 'policy'
  properties: {
    format: 'xml'
    value: loadTextContent('../apim/policies/mcp-api.xml')
  }
  dependsOn: [
    gatewayProofValue
  ]
}

// Streamable HTTP: POST carries JSON-RPC; GET (server stream) and DELETE (session end) reach the
// handler, which answers 405 as a stateless server should.
var mcpOperations = [
  {
    name: 'mcp-post'
    method: 'POST'
    displayName: 'MCP (POST)'
  }
  {
    name: 'mcp-get'
    method: 'GET'
    displayName: 'MCP (GET)'
  }
  {
    name: 'mcp-delete'
    method: 'DELETE'
    displayName: 'MCP (DELETE)'
  }
]

resource mcpOperationResources 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = [for operation in mcpOperations: {
  parent: mcpApi
  name: operation.name
  properties: {
    displayName: operation.displayName
    method: operation.method
    urlTemplate: '/mcp'
  }
}]

resource mcpOperationPolicies 'Microsoft.ApiManagement/service/apis/operations/policies@2024-05-01' = [for (operation, i) in mcpOperations: {
  parent: mcpOperationResources[i]
  name: 'policy'
  properties: {
    format: 'xml'
    value: loadTextContent('../apim/policies/mcp-operation.xml')
  }
  dependsOn: [
    tenantIdValue
    clientIdValue
    appIdUriValue
    requiredScopeValue
    allowedClientAppsValue
    allowedAppRolesValue
    resourceMetadataUrlValue
    rateLimitCallsValue
    rateLimitPeriodValue
  ]
}]

// RFC 9728: the root document and the path-inserted document for /mcp. Anonymous by definition.
var metadataOperations = [
  {
    name: 'prm-root'
    urlTemplate: '/.well-known/oauth-protected-resource'
    displayName: 'Protected resource metadata'
  }
  {
    name: 'prm-mcp'
    urlTemplate: '/.well-known/oauth-protected-resource/mcp'
    displayName: 'Protected resource metadata (/mcp)'
  }
]

resource metadataOperationResources 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = [for operation in metadataOperations: {
  parent: mcpApi
  name: operation.name
  properties: {
    displayName: operation.displayName
    method: 'GET'
    urlTemplate: operation.urlTemplate
  }
}]

resource metadataOperationPolicies 'Microsoft.ApiManagement/service/apis/operations/policies@2024-05-01' = [for (operation, i) in metadataOperations: {
  parent: metadataOperationResources[i]
  name: 'policy'
  properties: {
    format: 'xml'
    value: loadTextContent('../apim/policies/prm-operation.xml')
  }
}]

// Broker mode: the handler's OAuth 2.1 authorization server. These endpoints are how a client
// gets a token, so none of them validates one; the handler checks everything itself (PKCE, client,
// redirect URI, CSRF, the sign-in's cookie) and the API scope still adds the gateway proof.
// Limited per client IP address: registration and the token endpoint tightly (they are what a
// flood would hit), the metadata, sign-in and consent pages like the protected-resource metadata.
var brokerPageOperations = [
  {
    name: 'broker-as-metadata'
    method: 'GET'
    urlTemplate: '/.well-known/oauth-authorization-server'
    displayName: 'Authorization server metadata'
  }
  {
    name: 'broker-oidc-metadata'
    method: 'GET'
    urlTemplate: '/.well-known/openid-configuration'
    displayName: 'Authorization server metadata (OpenID path)'
  }
  {
    name: 'broker-authorize'
    method: 'GET'
    urlTemplate: '/authorize'
    displayName: 'Authorize'
  }
  {
    name: 'broker-callback'
    method: 'GET'
    urlTemplate: '/callback'
    displayName: 'Entra sign-in callback'
  }
  {
    name: 'broker-consent-page'
    method: 'GET'
    urlTemplate: '/consent'
    displayName: 'Consent page'
  }
  {
    name: 'broker-consent-decision'
    method: 'POST'
    urlTemplate: '/consent'
    displayName: 'Consent decision'
  }
  {
    name: 'broker-consents'
    method: 'GET'
    urlTemplate: '/consents'
    displayName: 'Applications a user allowed'
  }
  {
    name: 'broker-consents-revoke'
    method: 'POST'
    urlTemplate: '/consents/revoke'
    displayName: 'Revoke an application'
  }
]

var brokerRegisterOperations = [
  {
    name: 'broker-register'
    method: 'POST'
    urlTemplate: '/register'
    displayName: 'Dynamic client registration'
  }
]

var brokerTokenOperations = [
  {
    name: 'broker-token'
    method: 'POST'
    urlTemplate: '/token'
    displayName: 'Token'
  }
  {
    name: 'broker-revoke'
    method: 'POST'
    urlTemplate: '/revoke'
    displayName: 'Token revocation'
  }
]

resource brokerPageOperationResources 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = [for operation in (brokerMode ? brokerPageOperations : []): {
  parent: mcpApi
  name: operation.name
  properties: {
    displayName: operation.displayName
    method: operation.method
    urlTemplate: operation.urlTemplate
  }
}]

resource brokerPageOperationPolicies 'Microsoft.ApiManagement/service/apis/operations/policies@2024-05-01' = [for (operation, i) in (brokerMode ? brokerPageOperations : []): {
  parent: brokerPageOperationResources[i]
  name: 'policy'
  properties: {
    format: 'xml'
    value: loadTextContent('../apim/policies/broker-operation.xml')
  }
}]

resource brokerRegisterOperationResources 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = [for operation in (brokerMode ? brokerRegisterOperations : []): {
  parent: mcpApi
  name: operation.name
  properties: {
    displayName: operation.displayName
    method: operation.method
    urlTemplate: operation.urlTemplate
  }
}]

resource brokerRegisterOperationPolicies 'Microsoft.ApiManagement/service/apis/operations/policies@2024-05-01' = [for (operation, i) in (brokerMode ? brokerRegisterOperations : []): {
  parent: brokerRegisterOperationResources[i]
  name: 'policy'
  properties: {
    format: 'xml'
    value: loadTextContent('../apim/policies/broker-register-operation.xml')
  }
}]

resource brokerTokenOperationResources 'Microsoft.ApiManagement/service/apis/operations@2024-05-01' = [for operation in (brokerMode ? brokerTokenOperations : []): {
  parent: mcpApi
  name: operation.name
  properties: {
    displayName: operation.displayName
    method: operation.method
    urlTemplate: operation.urlTemplate
  }
}]

resource brokerTokenOperationPolicies 'Microsoft.ApiManagement/service/apis/operations/policies@2024-05-01' = [for (operation, i) in (brokerMode ? brokerTokenOperations : []): {
  parent: brokerTokenOperationResources[i]
  name: 'policy'
  properties: {
    format: 'xml'
    value: loadTextContent('../apim/policies/broker-token-operation.xml')
  }
}]

// Request metadata only: no headers (Authorization stays out of logs) and no bodies in either
// direction. Reading or logging MCP response bodies would also force APIM to buffer them.
var noPayload = {
  headers: []
  body: {
    bytes: 0
  }
}

resource mcpApiDiagnostics 'Microsoft.ApiManagement/service/apis/diagnostics@2024-05-01' = {
  parent: mcpApi
  name: 'azuremonitor'
  properties: {
    loggerId: azureMonitorLoggerId
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

output mcpApiName string = mcpApi.name
