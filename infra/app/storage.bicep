// Host storage for the Functions runtime and the Flex Consumption deployment package.
// Shared-key access is off: the only way in is an Entra token, and the only principal with a
// data role is the handler's identity (AzureWebJobsStorage__credential=managedidentity).

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Storage account name (3-24 lowercase letters and digits).')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Blob container that holds the deployment package azd uploads.')
param deploymentContainerName string

@description('Principal (object) id of the handler identity.')
param functionPrincipalId string

@description('Broker mode (MCP_AUTHORIZATION=broker): create the container for its state and its lifecycle rule.')
param brokerMode bool = false

@description('Blob container for broker mode\'s state (codes, refresh-token families, consents).')
param brokerContainerName string = 'mcp-broker'

@description('True when the function app reaches storage through a private endpoint only.')
param privateNetworking bool

// Storage Blob Data Owner: the role the Functions host documents for AzureWebJobsStorage with an
// identity (it creates its own containers and takes blob leases). Blob only: no queue or table
// triggers exist, so no queue or table role is granted.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206: LRS on purpose: the account holds only rebuildable host state and a package azd re-uploads on every deploy.
  // checkov:skip=CKV_AZURE_43: The name is a parameter; main.bicep builds it as 'st' + uniqueString (15 lowercase characters) and the decorators bound its length.
  // checkov:skip=CKV_AZURE_35: Default action follows the VNet option (on by default): Deny with it; without it the Flex app reaches storage publicly, shared keys are off, Entra only.
  // checkov:skip=CKV_AZURE_59: Public network access follows the VNet option (on by default): without it the Flex app reaches storage over its public endpoint, Entra-only.
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: {
      bypass: privateNetworking ? 'None' : 'AzureServices'
      defaultAction: privateNetworking ? 'Deny' : 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Broker mode's state: authorization codes, sign-ins waiting for consent, refresh-token families
// and consents, each a small blob the handler writes with conditional requests. Private, Entra
// access only, like the rest of the account. The handler's data role is the account-wide Storage
// Blob Data Owner below (the Functions host needs it); nobody else has one.
resource brokerContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (brokerMode) {
  parent: blobService
  name: brokerContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Expired entries go by age since their last write (the handler checks expiry itself; this only
// keeps the container small): codes, redemption markers and pending sign-ins live minutes;
// refresh-token families at most 90 days; consents are kept a year after they were last granted.
var brokerLifecycle = [
  {
    name: 'broker-short-lived'
    prefixes: [
      '${brokerContainerName}/codes/'
      '${brokerContainerName}/redemptions/'
      '${brokerContainerName}/pending/'
    ]
    days: 1
  }
  {
    name: 'broker-refresh-token-families'
    prefixes: [
      '${brokerContainerName}/families/'
    ]
    days: 91
  }
  {
    name: 'broker-consents'
    prefixes: [
      '${brokerContainerName}/consents/'
    ]
    days: 366
  }
]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = if (brokerMode) {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [for rule in brokerLifecycle: {
        name: rule.name
        enabled: true
        type: 'Lifecycle'
        definition: {
          filters: {
            blobTypes: [
              'blockBlob'
            ]
            prefixMatch: rule.prefixes
          }
          actions: {
            baseBlob: {
              delete: {
                daysAfterModificationGreaterThan: rule.days
              }
            }
          }
        }
      }]
    }
  }
  dependsOn: [
    brokerContainer
  ]
}

resource blobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
  }
}

output storageAccountId string = storage.id
output storageAccountName string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
output brokerContainerName string = brokerContainerName
