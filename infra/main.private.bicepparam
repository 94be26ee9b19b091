// networkMode = private: VNet integration, private endpoints and DNS for blob, queue, table and Key Vault,
// public network access off on storage and Key Vault (docs/deploy.md, "Network modes").
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'unsubsync')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')
param salesforceLoginUrl = readEnvironmentVariable('SALESFORCE_LOGIN_URL', 'https://example.my.salesforce.com')
param salesforceClientId = readEnvironmentVariable('SALESFORCE_CLIENT_ID', 'set-the-consumer-key')
param networkMode = 'private'
