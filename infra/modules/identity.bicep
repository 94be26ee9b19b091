// The user-assigned managed identity the function app runs as. It is created before the app so its
// role assignments exist (and have a chance to propagate) before the app first starts.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the identity.')
param tags { *: string }

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id of the identity (for functionAppConfig, keyVaultReferenceIdentity).')
output id string = identity.id

@description('Name of the identity.')
output name string = identity.name

@description('Client (application) id: AzureWebJobsStorage__clientId, AZURE_CLIENT_ID, App Insights authentication.')
output clientId string = identity.properties.clientId

@description('Object (principal) id, for role assignments.')
output principalId string = identity.properties.principalId
