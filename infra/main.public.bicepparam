// networkMode = public (the default): what scripts/check-infra.sh builds for the public mode, and a
// starting point for `az deployment sub create -l <region> -f infra/main.bicep -p infra/main.public.bicepparam`.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'unsubsync')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')
param salesforceLoginUrl = readEnvironmentVariable('SALESFORCE_LOGIN_URL', 'https://example.my.salesforce.com')
param salesforceClientId = readEnvironmentVariable('SALESFORCE_CLIENT_ID', 'set-the-consumer-key')
param networkMode = 'public'
