// UnsubscribeSync infrastructure: one resource group with a Flex Consumption function app, its
// storage, monitoring, Key Vault and user-assigned identity.
//
// Subscription scope, the layout `azd up` expects: the template creates (or reuses) the resource
// group itself, so a fresh environment needs nothing but a subscription. Deploying it needs the right
// to create resource groups and role assignments (Owner, or Contributor + Role Based Access Control
// Administrator / User Access Administrator). Without azd:
//   az deployment sub create -l <region> -f infra/main.bicep -p environmentName=... salesforceLoginUrl=...
targetScope = 'subscription'

// ---------------------------------------------------------------- environment

@description('Short environment name (azd: AZURE_ENV_NAME). Names the resource group and seeds the unique resource names.')
@minLength(1)
@maxLength(40)
param environmentName string

@description('Azure region for every resource (one that offers Flex Consumption).')
@minLength(1)
param location string

@description('Resource group to create or reuse. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Function app name (its host name is <name>.azurewebsites.net). Empty: func-<unique token>.')
@maxLength(60)
param functionAppName string = ''

@description('Object id of the person or pipeline deploying (azd: AZURE_PRINCIPAL_ID). When set, it gets Key Vault Secrets Officer so it can set the secrets. Empty: no assignment.')
param principalId string = ''

@description('Type of principalId: User for a person, ServicePrincipal for a pipeline identity.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

// ---------------------------------------------------------------- hosting

@description('Flex Consumption instance memory in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most instances the app scales out to. Each instance makes its own Salesforce calls; a lower cap protects the org\'s API allocation.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Days Log Analytics keeps telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Key Vault purge protection. Recommended for production; it cannot be switched off again and it blocks `azd down --purge` from freeing the vault name until the retention period ends.')
param enableKeyVaultPurgeProtection bool = false

@description('Days a deleted Key Vault (or secret) stays recoverable.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

// ---------------------------------------------------------------- storage names

@description('Queue the webhook writes accepted unsubscribes to (app setting PushQueueName). At most 56 characters so <name>-poison is valid.')
@minLength(3)
@maxLength(56)
param pushQueueName string = 'unsubscribe-push'

@description('Queue the nightly sync fans its work items out to (app setting SyncBatchQueueName). At most 56 characters.')
@minLength(3)
@maxLength(56)
param syncBatchQueueName string = 'sync-batches'

@description('Queue of addresses whose consent changes wait to enter the change feed (app setting ConsentFeedQueueName). At most 56 characters.')
@minLength(3)
@maxLength(56)
param consentFeedQueueName string = 'consent-feed'

@description('Queue of notifications to the sender (app setting NotifyQueueName). At most 56 characters.')
@minLength(3)
@maxLength(56)
param notifyQueueName string = 'notify'

// ---------------------------------------------------------------- sync behaviour (app settings)

@description('NightlySyncSchedule: six-field NCRONTAB in UTC ({second} {minute} {hour} {day} {month} {day-of-week}). Default 04:00 UTC. Empty also means the default.')
param nightlySyncSchedule string = '0 0 4 * * *'

@description('Sync__NightlyEnabled: run the nightly two-way sync. Push of webhook unsubscribes stays on either way.')
param nightlySyncEnabled bool = true

@description('Sync__TargetField: the Salesforce checkbox written, EmailOptOut (HasOptedOutOfEmail) or MarketoSalesOptOut (custom field).')
@allowed([
  'EmailOptOut'
  'MarketoSalesOptOut'
])
param syncTargetField string = 'EmailOptOut'

@description('Sync__MarketoSalesOptOutField: API name of the custom Marketo Sales Opt Out field (ends in __c). Empty: the app discovers it.')
param marketoSalesOptOutField string = ''

@description('Sync__SalesforceUncheck: Reassert writes the opt-out again when someone un-checks it in Salesforce; Resubscribe honours a newer un-check.')
@allowed([
  'Reassert'
  'Resubscribe'
])
param salesforceUncheckPolicy string = 'Reassert'

@description('Sync__PushResubscribes: whether explicit resubscribe events from Marketo Sales clear the Salesforce field.')
param pushResubscribes bool = false

@description('Sync__ResolveByEmail: find Leads/Contacts by email for events without a Salesforce Id (and update all of them).')
param resolveByEmail bool = false

@description('Sync__ApiBudgetPercent: above this share of the org\'s daily API allocation, non-urgent work is deferred.')
@minValue(1)
@maxValue(100)
param apiBudgetPercent int = 75

// ---------------------------------------------------------------- Salesforce

@description('Salesforce__LoginUrl: the org\'s My Domain URL, e.g. https://yourcompany.my.salesforce.com (azd: SALESFORCE_LOGIN_URL).')
@minLength(12)
param salesforceLoginUrl string

@description('Salesforce__ClientId: consumer key of the connected app / external client app (azd: SALESFORCE_CLIENT_ID).')
param salesforceClientId string = ''

@description('How the app signs in to Salesforce: ClientCredentials (consumer secret, Run As user) or JwtBearer (certificate, pre-authorized user).')
@allowed([
  'ClientCredentials'
  'JwtBearer'
])
param salesforceAuthFlow string = 'ClientCredentials'

@description('Salesforce__Username: the integration user the JWT bearer flow signs in as. Used only with JwtBearer.')
param salesforceUsername string = ''

@description('Salesforce__JwtAudience: aud claim of the JWT bearer assertion (https://test.salesforce.com for sandboxes). Used only with JwtBearer. Empty also means the default.')
param salesforceJwtAudience string = 'https://login.salesforce.com'

@description('Salesforce__ApiVersion: REST API version the app calls.')
param salesforceApiVersion string = '66.0'

// ---------------------------------------------------------------- webhook

@description('Require signed webhooks: sets Webhook__SigningSecret to a Key Vault reference (secret webhook-signing-secret). false: the setting is not written and unsigned webhooks are accepted (the function key still applies).')
param requireWebhookSignature bool = true

// ---------------------------------------------------------------- the way back to the sender (consent API, notifications)

@description('Switch on the consent API (GET /api/consent/...): sets Consent__ApiKey to a Key Vault reference (secret consent-api-key), which must exist before the app starts. false: the setting is not written and the consent API answers 404.')
param enableConsentApi bool = false

@description('ConsentFeedSweepSchedule: NCRONTAB (UTC) of the change feed\'s sweep, which publishes changes a crash left behind and numbers addresses from before the feed. Empty also means the default (every 15 minutes).')
param consentFeedSweepSchedule string = '0 */15 * * * *'

@description('Notify__Url: https URL the sender receives signed notifications of consent changes it did not make itself (azd: NOTIFY_URL). Empty: no notifications (the change feed still has every change). When set, Notify__SigningSecret references Key Vault secret notify-signing-secret.')
param notifyUrl string = ''

// ---------------------------------------------------------------- the administrator's view (docs/status.md)

@description('Switch on the admin endpoints (GET /api/status, GET /api/status/page, POST /api/links/retry): sets Admin__ApiKey to a Key Vault reference (secret admin-api-key), which must exist before the app starts. false: the setting is not written and the admin endpoints answer 404.')
param enableAdminApi bool = false

// ---------------------------------------------------------------- retention (README, configuration table)

@description('Retention__IntakeDays: days a finished webhook intake record is kept (0: for ever). Unfinished ones are never removed.')
@minValue(0)
@maxValue(3650)
param intakeRetentionDays int = 30

@description('Retention__SyncRunsDays: days a completed nightly run\'s rows are kept (0: for ever). The status page draws up to 90 days.')
@minValue(0)
@maxValue(3650)
param syncRunsRetentionDays int = 90

@description('Retention__AuditDays: days an Audit table row is kept; 0 (the default) keeps it for ever, else at least 365. The audit chain\'s blobs follow the storage immutability policy instead.')
@minValue(0)
@maxValue(36500)
param auditTableRetentionDays int = 0

// ---------------------------------------------------------------- hardening (issue 15, docs/deploy.md "Network modes")

@description('public: storage and Key Vault accept traffic from any network (authenticated with Entra ID), as before. private: a VNet, Flex Consumption VNet integration, private endpoints and DNS for blob, queue, table and Key Vault, and public network access disabled on storage and Key Vault. The webhook stays public either way.')
@allowed([
  'public'
  'private'
])
param networkMode string = 'public'

@description('Address space of the VNet (networkMode private).')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Subnet the function app integrates with (networkMode private); at least /27, delegated to Microsoft.App/environments.')
param appSubnetPrefix string = '10.40.0.0/24'

@description('Subnet of the private endpoints (networkMode private).')
param privateEndpointSubnetPrefix string = '10.40.1.0/24'

@description('Storage redundancy. Standard_ZRS (three zones of the region) is the default; use Standard_LRS in a region without availability zones, or a GZRS/GRS SKU for a copy in the paired region.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
  'Standard_RAGRS'
  'Standard_RAGZRS'
])
param storageSku string = 'Standard_ZRS'

@description('Days every audit chain blob stays immutable (WORM, time-based retention with protected appends).')
@minValue(1)
@maxValue(146000)
param auditRetentionDays int = 2557

@description('resource (default): each storage data role on its own container, queue or table; the audit container only appendable. account: the three data roles on the whole account, a fallback if a host feature needs more.')
@allowed([
  'resource'
  'account'
])
param storageRoleScope string = 'resource'

// ---------------------------------------------------------------- the admin's view: sign-in and alerts (issue 13, docs/deploy.md)

@description('Put App Service Authentication (Entra ID sign-in) in front of the status page and status API. Machine-called paths (the webhook, the consent API, the host admin API) are excluded. Needs statusPageAuthClientId. false: nothing is deployed.')
param statusPageAuth bool = false

@description('Application (client) id of the Entra app registration people sign in to for the status page (azd: STATUS_PAGE_AUTH_CLIENT_ID). Used only with statusPageAuth.')
param statusPageAuthClientId string = ''

@description('Entra tenant of that app registration. Empty: the subscription\'s tenant.')
param statusPageAuthTenantId string = ''

@description('E-mail address the Azure Monitor alerts go to (azd: ALERT_EMAIL). Empty: no action group and no alert rules are deployed.')
param alertEmail string = ''

@description('Permanent push failures within 6 hours (and over twice the recent average) that raise the "failed links rising" alert.')
@minValue(1)
param failedLinksAlertThreshold int = 10

// ---------------------------------------------------------------- optional secret seeds

@description('Optional: seeds Key Vault secret salesforce-client-secret (ClientCredentials flow). Empty: set it after deployment.')
@secure()
param salesforceClientSecret string = ''

@description('Optional: seeds Key Vault secret salesforce-private-key, the PEM private key (JwtBearer flow). Empty: set it after deployment.')
@secure()
param salesforcePrivateKey string = ''

@description('Optional: seeds Key Vault secret webhook-signing-secret. Empty: set it after deployment.')
@secure()
param webhookSigningSecret string = ''

@description('Optional, for a secret rotation: the webhook secret being retired. When set (and requireWebhookSignature), seeds Key Vault secret webhook-signing-secret-previous and sets Webhook__PreviousSigningSecret to a reference to it, so calls signed with either secret pass. Empty: the setting is not written.')
@secure()
param webhookPreviousSigningSecret string = ''

@description('Optional: seeds Key Vault secret consent-api-key (the consent API\'s own key, used with enableConsentApi). Empty: set it after deployment.')
@secure()
param consentApiKey string = ''

@description('Optional, for a key rotation: the consent API key being retired. When set (and enableConsentApi), seeds Key Vault secret consent-api-key-previous and sets Consent__PreviousApiKey to a reference to it. Empty: the setting is not written.')
@secure()
param consentPreviousApiKey string = ''

@description('Optional: seeds Key Vault secret admin-api-key (the admin endpoints\' own key, used with enableAdminApi; at least 32 characters). Empty: set it after deployment.')
@secure()
param adminApiKey string = ''

@description('Optional: seeds Key Vault secret notify-signing-secret (the HMAC secret of notifications, used with notifyUrl). Empty: set it after deployment.')
@secure()
param notifySigningSecret string = ''

// ---------------------------------------------------------------- names

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'UnsubscribeSync'
}
var appName = empty(functionAppName) ? 'func-${resourceToken}' : functionAppName
var deploymentContainerName = 'app-package-${take(appName, 32)}-${take(resourceToken, 7)}'

var secretNames = {
  salesforceClientSecret: 'salesforce-client-secret'
  salesforcePrivateKey: 'salesforce-private-key'
  webhookSigningSecret: 'webhook-signing-secret'
  webhookPreviousSigningSecret: 'webhook-signing-secret-previous'
  consentApiKey: 'consent-api-key'
  consentPreviousApiKey: 'consent-api-key-previous'
  notifySigningSecret: 'notify-signing-secret'
  adminApiKey: 'admin-api-key'
}

var useJwtBearer = salesforceAuthFlow == 'JwtBearer'

// azd substitutes an unset environment variable as '': treat that as "use the default".
var effectiveSchedule = empty(nightlySyncSchedule) ? '0 0 4 * * *' : nightlySyncSchedule
var effectiveSweepSchedule = empty(consentFeedSweepSchedule) ? '0 */15 * * * *' : consentFeedSweepSchedule
var effectiveJwtAudience = empty(salesforceJwtAudience) ? 'https://login.salesforce.com' : salesforceJwtAudience

// Booleans are written as 'true'/'false' (ARM's string() would give 'True').
// Only the chosen flow's settings are written: a Key Vault reference that cannot be resolved would
// leave its literal text in the setting and fail the app's startup validation.
var settings = union(
  {
    NightlySyncSchedule: effectiveSchedule
    PushQueueName: pushQueueName
    SyncBatchQueueName: syncBatchQueueName
    ConsentFeedQueueName: consentFeedQueueName
    NotifyQueueName: notifyQueueName
    ConsentFeedSweepSchedule: effectiveSweepSchedule
    LedgerCensusSchedule: '0 */10 * * * *'
    Sync__NightlyEnabled: nightlySyncEnabled ? 'true' : 'false'
    Sync__TargetField: syncTargetField
    Sync__SalesforceUncheck: salesforceUncheckPolicy
    Sync__PushResubscribes: pushResubscribes ? 'true' : 'false'
    Sync__ResolveByEmail: resolveByEmail ? 'true' : 'false'
    Sync__ApiBudgetPercent: string(apiBudgetPercent)
    Retention__IntakeDays: string(intakeRetentionDays)
    Retention__SyncRunsDays: string(syncRunsRetentionDays)
    Retention__AuditDays: string(auditTableRetentionDays)
    Salesforce__LoginUrl: salesforceLoginUrl
    Salesforce__ClientId: salesforceClientId
    Salesforce__ApiVersion: salesforceApiVersion
  },
  empty(marketoSalesOptOutField) ? {} : { Sync__MarketoSalesOptOutField: marketoSalesOptOutField },
  empty(notifyUrl) ? {} : { Notify__Url: notifyUrl },
  useJwtBearer
    ? {
        Salesforce__Username: salesforceUsername
        Salesforce__JwtAudience: effectiveJwtAudience
      }
    : {}
)

var keyVaultSettings = union(
  useJwtBearer
    ? { Salesforce__PrivateKey: secretNames.salesforcePrivateKey }
    : { Salesforce__ClientSecret: secretNames.salesforceClientSecret },
  requireWebhookSignature ? { Webhook__SigningSecret: secretNames.webhookSigningSecret } : {},
  // Written only with its value: a reference to a secret that was never seeded would not resolve and would fail start-up.
  requireWebhookSignature && !empty(webhookPreviousSigningSecret)
    ? { Webhook__PreviousSigningSecret: secretNames.webhookPreviousSigningSecret }
    : {},
  enableConsentApi ? { Consent__ApiKey: secretNames.consentApiKey } : {},
  enableConsentApi && !empty(consentPreviousApiKey) ? { Consent__PreviousApiKey: secretNames.consentPreviousApiKey } : {},
  empty(notifyUrl) ? {} : { Notify__SigningSecret: secretNames.notifySigningSecret },
  enableAdminApi ? { Admin__ApiKey: secretNames.adminApiKey } : {}
)

// ---------------------------------------------------------------- resources

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    appPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    queueNames: [
      pushQueueName
      '${pushQueueName}-poison'
      syncBatchQueueName
      '${syncBatchQueueName}-poison'
      consentFeedQueueName
      '${consentFeedQueueName}-poison'
      notifyQueueName
      '${notifyQueueName}-poison'
    ]
    tableNames: [
      'Ledger'
      'Audit'
      'Intake'
      'SyncRuns'
      'SyncState'
      'ConsentFeed'
      'AuditChainPending'
    ]
    appPrincipalId: identity.outputs.principalId
    skuName: storageSku
    auditContainerName: 'audit-chain'
    auditRetentionDays: auditRetentionDays
    roleScope: storageRoleScope
    publicNetworkAccess: networkMode == 'public'
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    enablePurgeProtection: enableKeyVaultPurgeProtection
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    appPrincipalId: identity.outputs.principalId
    publicNetworkAccess: networkMode == 'public'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    secrets: {
      '${secretNames.salesforceClientSecret}': salesforceClientSecret
      '${secretNames.salesforcePrivateKey}': salesforcePrivateKey
      '${secretNames.webhookSigningSecret}': webhookSigningSecret
      '${secretNames.webhookPreviousSigningSecret}': webhookPreviousSigningSecret
      '${secretNames.consentApiKey}': consentApiKey
      '${secretNames.consentPreviousApiKey}': consentPreviousApiKey
      '${secretNames.notifySigningSecret}': notifySigningSecret
      '${secretNames.adminApiKey}': adminApiKey
    }
  }
}

module network 'modules/network.bicep' = if (networkMode == 'private') {
  name: 'network'
  scope: rg
  params: {
    name: 'vnet-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
    endpointSubnetPrefix: privateEndpointSubnetPrefix
    storageAccountId: storage.outputs.id
    keyVaultId: keyVault.outputs.id
  }
}

// Uses outputs of every other module, so it starts only after the identity's role assignments and
// any seeded secrets exist.
module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: appName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    appTags: union(tags, { 'azd-service-name': 'functions' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultUri: keyVault.outputs.uri
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    virtualNetworkSubnetId: networkMode == 'private' ? network!.outputs.appSubnetId : ''
    settings: settings
    keyVaultSettings: keyVaultSettings
  }
}

// Easy Auth protects by default: every path not listed here needs a sign-in (the status page and API included).
// scripts/check-infra.sh asserts this list against the compiled template.
var statusPageAuthExcludedPaths = [
  '/api/unsubscribes'
  '/api/consent/*'
  '/admin/*'
  '/runtime/webhooks/*'
]

module statusPageAuthentication 'modules/auth.bicep' = if (statusPageAuth) {
  name: 'auth'
  scope: rg
  params: {
    appName: functionApp.outputs.name
    clientId: statusPageAuthClientId
    tenantId: empty(statusPageAuthTenantId) ? tenant().tenantId : statusPageAuthTenantId
    excludedPaths: statusPageAuthExcludedPaths
  }
}

module alerts 'modules/alerts.bicep' = if (!empty(alertEmail)) {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    nameSuffix: resourceToken
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    alertEmail: alertEmail
    nightlySyncEnabled: nightlySyncEnabled
    failedLinksThreshold: failedLinksAlertThreshold
  }
}

// ---------------------------------------------------------------- outputs (azd stores them in .azure/<env>/.env)

@description('Resource group holding everything.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Region used.')
output AZURE_LOCATION string = location

@description('Entra tenant of the subscription.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Name of the function app.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Name of the Key Vault that holds the Salesforce and webhook secrets.')
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name

@description('Name of the storage account (the audit chain verifier reads its audit-chain container).')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Client id of the app\'s user-assigned managed identity.')
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId

@description('Marketo Sales webhook URL (add the function key as x-functions-key header or ?code=).')
output WEBHOOK_URL string = 'https://${functionApp.outputs.defaultHostName}/api/unsubscribes'

@description('Consent API base URL (GET <url>/changes, GET <url>/{email}); needs a function key and X-Consent-Key.')
output CONSENT_API_URL string = 'https://${functionApp.outputs.defaultHostName}/api/consent'
