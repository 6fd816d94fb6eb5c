extension microsoftGraphV1

// The server's Entra app registration, through the Microsoft Graph Bicep extension.
// - It is the audience of every token clients send (MCP_CLIENT_ID, MCP_APP_ID_URI).
// - It is the confidential client of the on-behalf-of exchange, and its only credential is a
//   federated identity credential that trusts the handler's user-assigned identity: the app has
//   no secret and no certificate, so there is nothing to leak or rotate.
// - It asks Microsoft Graph for exactly the delegated permissions of the enabled toolsets.
// Graph resources live in the tenant, not in the resource group: `azd down` does not delete
// them (docs/DEPLOY.md, "Tearing down").

@description('Immutable unique name of the app registration (the Graph extension upserts on it).')
param uniqueName string

@description('Display name shown in consent prompts and the Entra admin center.')
param displayName string

@description('Name of the delegated scope every user token must carry.')
param requiredScopeName string

@description('Custom domain that fronts APIM (for example mcp.contoso.com); empty for none. Must be a verified domain of the tenant.')
param customDomainHostName string

@description('Client app ids pre-authorized for the delegated scope (no consent prompt), for example VS Code.')
param preAuthorizedClientAppIds array

@description('Grant tenant-wide admin consent for the Graph permissions (needs Cloud Application Administrator or higher).')
param grantAdminConsent bool

@description('Require users and apps to be assigned to the app before Entra issues them a token for it.')
param appRoleAssignmentRequired bool

@description('Principal (object) id of the handler identity, trusted as the federated credential.')
param federatedIdentityPrincipalId string

@description('Web redirect URIs for broker mode\'s sign-in ({public origin}/callback); empty in entra mode.')
param brokerRedirectUris array = []

@description('Toolsets the handler enables (MCP_TOOLSETS), for example profile, calendar, mail. The app requests exactly their Graph permissions.')
param toolsets array

var graphAppId = '00000003-0000-0000-c000-000000000000'

// Least privilege follows the toolsets: the operator enables what the tenant consented to, and
// the app asks for exactly those toolsets' delegated Graph permissions, nothing more. The
// toolset → permission table is one data file that the handler's tool definitions are checked
// against too; each entry is a permission name (value) and its delegated permission id (id).
var graphPermissionsByToolset = loadJsonContent('graph-permissions.json').toolsets

// The union of the enabled toolsets' permissions, each once: union() drops duplicates such as
// MailboxSettings.Read, which several toolsets need for the user's time zone. An unknown toolset
// name fails the deployment here instead of silently granting nothing. (For-expressions rather
// than lambdas, and not inside a function call: checkov's Bicep parser reads neither.)
var permissionsPerToolset = [for toolset in toolsets: graphPermissionsByToolset[toolset]]
var graphDelegatedPermissions = union(flatten(permissionsPerToolset), [])
var graphDelegatedScopeNames = [for permission in graphDelegatedPermissions: permission.value]

// Stable ids: Entra refuses to change a scope or role id while it is enabled, so derive them from
// names that do not change between deployments.
var userScopeId = guid(uniqueName, 'oauth2PermissionScope', requiredScopeName)
var operatorRoleId = guid(uniqueName, 'appRole', 'MCP.Operator')
var writerRoleId = guid(uniqueName, 'appRole', 'MCP.Writer')

var appIdUriOnCustomDomain = 'https://${customDomainHostName}/mcp'

var preAuthorizedApplications = [for clientAppId in preAuthorizedClientAppIds: {
  appId: clientAppId
  delegatedPermissionIds: [
    userScopeId
  ]
}]

var api = {
  // v2 tokens: aud is always the client id GUID and iss is the v2 issuer the handler expects.
  requestedAccessTokenVersion: 2
  oauth2PermissionScopes: [
    {
      id: userScopeId
      value: requiredScopeName
      type: 'User'
      isEnabled: true
      adminConsentDisplayName: 'Use the Microsoft 365 MCP server'
      adminConsentDescription: 'Lets the app call the Microsoft 365 MCP server on behalf of the signed-in user. The server reads only what its tools need.'
      userConsentDisplayName: 'Use the Microsoft 365 MCP server for you'
      userConsentDescription: 'Lets the app call the Microsoft 365 MCP server on your behalf.'
    }
  ]
  preAuthorizedApplications: preAuthorizedApplications
}

var appRoles = [
  {
    id: operatorRoleId
    value: 'MCP.Operator'
    displayName: 'MCP operator'
    description: 'Operate the MCP server: diagnostics tools.'
    allowedMemberTypes: [
      'User'
      'Application'
    ]
    isEnabled: true
  }
  // Users only: the write tools (send_mail, create_event) act as the signed-in user, so an
  // app-only caller could never use them.
  {
    id: writerRoleId
    value: 'MCP.Writer'
    displayName: 'MCP writer'
    description: 'May use the write tools send_mail and create_event (when the write toolset is enabled).'
    allowedMemberTypes: [
      'User'
    ]
    isEnabled: true
  }
]

// Delegated permissions only ('Scope'): the server acts on behalf of the signed-in user, never as
// itself.
var graphResourceAccess = [for permission in graphDelegatedPermissions: {
  id: permission.id
  type: 'Scope'
}]

var requiredResourceAccess = [
  {
    resourceAppId: graphAppId
    resourceAccess: graphResourceAccess
  }
]

resource app 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  isFallbackPublicClient: false
  api: api
  appRoles: appRoles
  requiredResourceAccess: requiredResourceAccess
}

// Second pass over the same app: an api://<appId> identifier URI needs the appId, which exists
// only after the first pass. With a custom domain, the MCP URL itself is an identifier URI too, so
// a client that sends RFC 8707 resource=<MCP URL> gets a token instead of AADSTS9010010.
resource appWithIdentifierUris 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: app.uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  isFallbackPublicClient: false
  api: api
  appRoles: appRoles
  requiredResourceAccess: requiredResourceAccess
  identifierUris: empty(customDomainHostName) ? [
    'api://${app.appId}'
  ] : [
    'api://${app.appId}'
    appIdUriOnCustomDomain
  ]
  // Broker mode: the handler signs users in with this app as a confidential (web) client; its
  // credential is the federated identity credential below, never a secret.
  web: {
    redirectUris: brokerRedirectUris
  }
}

// The app's only credential: tokens of the handler's user-assigned identity for the token-exchange
// audience (Graph Bicep runs in the public cloud only, hence the fixed audience).
resource handlerIdentityCredential 'Microsoft.Graph/applications/federatedIdentityCredentials@v1.0' = {
  name: '${appWithIdentifierUris.uniqueName}/mcp-handler-managed-identity'
  description: 'The MCP handler user-assigned managed identity (on-behalf-of client assertion).'
  issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
  subject: federatedIdentityPrincipalId
  audiences: [
    'api://AzureADTokenExchange'
  ]
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: app.appId
  appRoleAssignmentRequired: appRoleAssignmentRequired
}

resource graphServicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

// Optional tenant-wide consent for exactly the Graph permissions above, so users are not asked
// (VS Code shows no consent prompt of its own, auth notes §5). Some permissions of the default
// toolsets (User.Read.All) need an administrator's consent anyway. No grant without permissions.
resource graphAdminConsent 'Microsoft.Graph/oauth2PermissionGrants@v1.0' = if (grantAdminConsent && !empty(graphDelegatedPermissions)) {
  clientId: servicePrincipal.id
  resourceId: graphServicePrincipal.id
  consentType: 'AllPrincipals'
  scope: join(graphDelegatedScopeNames, ' ')
}

var appIdUri = empty(customDomainHostName) ? 'api://${appWithIdentifierUris.appId}' : appIdUriOnCustomDomain

output appId string = appWithIdentifierUris.appId
output uniqueName string = appWithIdentifierUris.uniqueName
output appObjectId string = appWithIdentifierUris.id
output servicePrincipalId string = servicePrincipal.id
output appIdUri string = appIdUri
output requiredScopeName string = requiredScopeName
output fullRequiredScope string = '${appIdUri}/${requiredScopeName}'
output graphDelegatedScopes string = join(graphDelegatedScopeNames, ' ')
