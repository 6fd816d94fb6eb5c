// Key Vault for what must be secret and is not an identity: the gateway proof APIM adds to every
// request and the handler checks, and the signing key that makes the handler's paging cursors and
// write confirmations unforgeable (and valid on every instance). RBAC mode (no access policies),
// purge protection and soft delete on; with the VNet its firewall denies public traffic (private
// endpoint in private-endpoints.bicep). Two readers, each with Key Vault Secrets User and nothing
// more:
// - the handler's identity, on exactly the two secrets it reads (the gateway proof and the
//   signing key), not the vault;
// - APIM's identity, on the gateway-proof secret only (apim.bicep grants it the custom-domain
//   certificate's secret, when one is configured, right before the service reads it).
// Nobody gets write access through this template: the deployment itself (ARM, control plane)
// creates the secrets, so no human or workload needs Key Vault Secrets Officer.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Key Vault name (3-24 characters).')
@minLength(3)
@maxLength(24)
param keyVaultName string

@description('Public network access to the vault. Disabled requires the VNet option and an APIM tier that can reach the private endpoint.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('True with the VNet option: the firewall denies public traffic and the vault is reached through its private endpoint.')
param privateNetworking bool

@description('Soft-delete retention in days. Cannot be changed after the vault is created.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int

@description('Log Analytics workspace that receives the vault audit log.')
param logAnalyticsId string

@description('Principal (object) id of the handler identity.')
param functionPrincipalId string

@description('Principal (object) id of the API Management identity.')
param apimPrincipalId string

@description('Name of the secret that holds the gateway proof.')
param gatewayProofSecretName string

@description('Version of the gateway-proof secret already in use; empty creates a new version.')
param gatewayProofVersion string

@description('Name of the secret that holds the handler\'s signing key (paging cursors, write confirmations).')
param signingKeySecretName string

@description('Version of the signing-key secret already in use; empty creates a new version.')
param signingKeyVersion string

@description('Broker mode (MCP_AUTHORIZATION=broker): the sealing key is created and the handler may read it.')
param brokerMode bool = false

@description('Broker mode: name of the secret holding the sealing key.')
param brokerSealingKeySecretName string = 'mcp-broker-sealing-key'

@description('Broker mode: version of the sealing key already in use; empty creates a new version.')
param brokerSealingKeyVersion string = ''


// Key Vault Secrets User: read secret values, nothing else.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
var createGatewayProof = empty(gatewayProofVersion)
var createSigningKey = empty(signingKeyVersion)

var createBrokerSealingKey = brokerMode && empty(brokerSealingKeyVersion)

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: The firewall denies by default with the VNet option (the default); without it the handler and API Management reach the vault publicly, with RBAC on single secrets as the gate.
  // checkov:skip=CKV_AZURE_189: Public network access is a parameter: the firewall already denies public traffic with the VNet; Disabled also removes the trusted-services exception, DEPLOY.md says when.
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    // Trusted Azure services (API Management among them, for its named values and certificates)
    // keep their exception; everything else public is denied with the VNet.
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: privateNetworking || publicNetworkAccess == 'Disabled' ? 'Deny' : 'Allow'
    }
  }
}

// Each generated secret is written (by generated-secret.bicep, one deployment per secret) only
// when no version is in use yet: first deployment, or an explicit rotation. Otherwise every
// `azd up` would rotate it. See docs/DEPLOY.md, "Rotating the gateway secret" and "Rotating the
// signing key".
module newGatewayProof 'generated-secret.bicep' = if (createGatewayProof) {
  name: 'gateway-proof-secret'
  params: {
    keyVaultName: vault.name
    secretName: gatewayProofSecretName
  }
}

module newSigningKey 'generated-secret.bicep' = if (createSigningKey) {
  name: 'signing-key-secret'
  params: {
    keyVaultName: vault.name
    secretName: signingKeySecretName
  }
}

resource gatewayProofExisting 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: gatewayProofSecretName
}

resource signingKeyExisting 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: signingKeySecretName
}

// Scoped to each secret the handler reads (its current and previous versions), not the vault: a
// secret added later for someone else is not readable by the handler unless granted here.
resource functionGatewayProofReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, gatewayProofSecretName, functionPrincipalId, keyVaultSecretsUserRoleId)
  scope: gatewayProofExisting
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
  }
  dependsOn: [
    newGatewayProof
  ]
}

resource functionSigningKeyReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, signingKeySecretName, functionPrincipalId, keyVaultSecretsUserRoleId)
  scope: signingKeyExisting
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
  }
  dependsOn: [
    newSigningKey
  ]
}

// Scoped to the one secret, not the vault: APIM cannot read anything else the handler keeps here,
// the signing key included.
resource apimGatewayProofReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, gatewayProofSecretName, apimPrincipalId, keyVaultSecretsUserRoleId)
  scope: gatewayProofExisting
  properties: {
    principalId: apimPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
  }
  dependsOn: [
    newGatewayProof
  ]
}

// Broker mode's sealing key (it encrypts Entra's refresh tokens at rest and seals registrations
// and sign-in state): generated inside Azure like the gateway proof and the signing key, written
// only on the first deployment or an explicit rotation, and readable by the handler alone.
module newBrokerSealingKey 'generated-secret.bicep' = if (createBrokerSealingKey) {
  name: 'broker-sealing-key'
  params: {
    keyVaultName: vault.name
    secretName: brokerSealingKeySecretName
  }
}

resource brokerSealingKeyExisting 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = if (brokerMode) {
  parent: vault
  name: brokerSealingKeySecretName
}

resource functionBrokerSealingKeyReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (brokerMode) {
  name: guid(vault.id, brokerSealingKeySecretName, functionPrincipalId, keyVaultSecretsUserRoleId)
  scope: brokerSealingKeyExisting
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
  }
  dependsOn: [
    newBrokerSealingKey
  ]
}

resource auditLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
  }
}

// A versioned URI pins APIM's named value to exactly this version: a rotation reaches APIM in the
// same deployment that creates the new version, instead of up to four hours later.
var gatewayProofUriWithVersion = createGatewayProof ? newGatewayProof!.outputs.uriWithVersion : '${vault.properties.vaultUri}secrets/${gatewayProofSecretName}/${gatewayProofVersion}'

output keyVaultId string = vault.id
output keyVaultName string = vault.name
output keyVaultUri string = vault.properties.vaultUri
// Identifiers only, never the value. A module's outputs exist only once all of its resources,
// role assignments included, are deployed: consumers (the APIM named values) wait for them.
output gatewayProofUriWithVersion string = gatewayProofUriWithVersion
output gatewayProofVersion string = last(split(gatewayProofUriWithVersion, '/'))
// Nobody pins the signing key by version (the handler reads its newest enabled versions by name),
// so only the version in use comes out, for the next provision.
output signingKeyVersion string = createSigningKey ? last(split(newSigningKey!.outputs.uriWithVersion, '/')) : signingKeyVersion

// The sealing key's version in use (identifier only), fed back so `azd up` does not rotate it.
output brokerSealingKeyVersion string = createBrokerSealingKey ? last(split(newBrokerSealingKey!.outputs.uriWithVersion, '/')) : brokerSealingKeyVersion
