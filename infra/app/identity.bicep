// Two user-assigned identities, one per workload, so that neither can use the other's access:
// - the handler's identity reads Key Vault, reaches host storage, publishes telemetry and is the
//   federated credential the Entra app trusts for on-behalf-of (user-assigned only: Entra
//   accepts a managed identity as a federated credential only when it is user-assigned);
// - APIM's identity reads the gateway-proof secret (and the custom-domain certificate), nothing else.
// Identities are created first so their role assignments can propagate while the slower
// resources (APIM above all) are still being created.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Name of the handler (function app) identity.')
param functionIdentityName string

@description('Name of the API Management identity.')
param apimIdentityName string

resource functionIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: functionIdentityName
  location: location
  tags: tags
}

resource apimIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: apimIdentityName
  location: location
  tags: tags
}

output functionIdentityId string = functionIdentity.id
output functionIdentityClientId string = functionIdentity.properties.clientId
output functionIdentityPrincipalId string = functionIdentity.properties.principalId
output apimIdentityId string = apimIdentity.id
output apimIdentityClientId string = apimIdentity.properties.clientId
output apimIdentityPrincipalId string = apimIdentity.properties.principalId
