// Writes a new version of a Key Vault secret with a value generated at deployment time. One module
// for every generated secret (keyvault.bicep deploys it once per secret: the gateway proof, the
// signing key). keyvault.bicep deploys it only when no version of that secret is in use yet (first
// deployment) or when an operator asks for a rotation; otherwise the secret is left alone, so
// `azd up` twice in a row keeps the same value.

@description('Key Vault that holds the secret.')
param keyVaultName string

@description('Secret name.')
param secretName string

@secure()
// checkov:skip=CKV_AZURE_131: Not a hardcoded value: Azure Resource Manager generates it at deployment time (newGuid is only allowed in parameter defaults). Nobody passes it in.
@description('Do not set. Generated at deployment time from three GUID v4 values (96 hex characters, 366 random bits: at least the 256 bits of an HMAC-SHA256 key); never written to a file, the azd environment, the deployment history or an output.')
param value string = replace('${newGuid()}${newGuid()}${newGuid()}', '-', '')

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: No expiry on purpose: rotation is an explicit, deployment-driven step (DEPLOY.md); an expiry would silently stop the server (APIM cut off from the handler, cursors and confirmations refused).
  parent: vault
  name: secretName
  properties: {
    value: value
    contentType: 'text/plain'
    attributes: {
      enabled: true
    }
  }
}

// The identifier of the new version, never its value.
output uriWithVersion string = secret.properties.secretUriWithVersion
