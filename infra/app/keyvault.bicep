// Key Vault for what must be secret and is not an identity: the gateway proof APIM adds to every
// request and the handler checks. RBAC mode (no access policies), purge protection and soft
// delete on; with the VNet its firewall denies public traffic (private endpoint in
// private-endpoints.bicep). Two readers, each with Key Vault Secrets User and nothing more:
// - the handler's identity, on the secrets it reads (the gateway proof), not the vault;
// - APIM's identity, on the gateway-proof secret only (apim.bicep grants it the custom-domain
//   certificate's secret, when one is configured, right before the service reads it).
// Nobody gets write access through this template: the deployment itself (ARM, control plane)
// creates the secret, so no human or workload needs Key Vault Secrets Officer.

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

@description('Broker mode (MCP_AUTHORIZATION=broker): the sealing key is created and the handler may read it.')
param brokerMode bool = false

@description('Broker mode: name of the secret holding the sealing key.')
param brokerSealingKeySecretName string = 'mcp-broker-sealing-key'

@description('Broker mode: version of the sealing key already in use; empty creates a new version.')
param brokerSealingKeyVersion string = ''


// Key Vault Secrets User: read secret values, nothing else.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
var createGatewayProof = empty(gatewayProofVersion)
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

// The gateway proof is written (in its own module, see gateway-proof-secret.bicep) only when no
// version is in use yet: first deployment, or an explicit rotation. Otherwise every `azd up` would
// rotate it. See docs/DEPLOY.md, "Rotating the gateway secret".
module newGatewayProof 'gateway-proof-secret.bicep' = if (createGatewayProof) {
  name: 'gateway-proof-secret'
  params: {
    keyVaultName: vault.name
    secretName: gatewayProofSecretName
  }
}

resource gatewayProofExisting 'Microsoft.KeyVault/vaults/secrets@2023-07-01' existing = {
  parent: vault
  name: gatewayProofSecretName
}

// Scoped to the secret the handler reads (its current and previous versions), not the vault: a
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

// Scoped to the one secret, not the vault: APIM cannot read anything else the handler keeps here.
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
// and sign-in state): generated inside Azure like the gateway proof (64 hex digits, 244 random
// bits), written only on the first deployment or an explicit rotation, and readable by the
// handler alone.
module newBrokerSealingKey 'gateway-proof-secret.bicep' = if (createBrokerSealingKey) {
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
// The sealing key's version in use (identifier only), fed back so `azd up` does not rotate it.
output brokerSealingKeyVersion string = createBrokerSealingKey ? last(split(newBrokerSealingKey!.outputs.uriWithVersion, '/')) : brokerSealingKeyVersion
