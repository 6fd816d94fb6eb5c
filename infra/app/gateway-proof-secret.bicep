// Writes a new version of the gateway-proof secret with a value generated at deployment time.
// keyvault.bicep deploys this module only when no version is in use yet (first deployment) or
// when an operator asks for a rotation; otherwise the secret is left alone, so `azd up` twice in a
// row keeps the same proof.

@description('Key Vault that holds the secret.')
param keyVaultName string

@description('Secret name.')
param secretName string

@secure()
// checkov:skip=CKV_AZURE_131: Not a hardcoded value: Azure Resource Manager generates it at deployment time (newGuid is only allowed in parameter defaults). Nobody passes it in.
@description('Do not set. Generated at deployment time from two GUID v4 values (64 hex characters); never written to a file, the azd environment, the deployment history or an output.')
param value string = replace('${newGuid()}${newGuid()}', '-', '')

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: No expiry on purpose: rotation is an explicit, deployment-driven step (DEPLOY.md); an expiry would silently cut APIM off from the handler.
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
