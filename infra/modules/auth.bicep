// App Service Authentication (Easy Auth, authsettingsV2) with Microsoft Entra ID in front of the admin's view:
// a person signs in before /api/status/page, /api/status or /api/links/retry reach the app, which still demands its function key
// and admin key (docs/status.md), so this is a second lock, not a replacement.
//
// Machine callers cannot sign in, so their paths are excluded and keep their own protection:
//  - /api/unsubscribes: Marketo's webhook (function key + HMAC signature);
//  - /api/consent/*: the sender's consent API (function key + X-Consent-Key);
//  - /admin/*: the Functions host's admin API (master key), e.g. running NightlySync by hand;
//  - /runtime/webhooks/*: host extension callbacks (none used today; kept open so a new trigger works).
// Everything else, any route added later included, needs a sign-in: protect by default, exclude on purpose.
//
// Flex Consumption: Microsoft's Flex Consumption page listed "EasyAuth isn't currently supported; unauthenticated
// callers aren't blocked" during the preview (docs/deploy.md, "Signing in to the status page"). Check it after each
// deployment with the curl in that section; the app's own keys protect the page either way.

@description('Name of the function app (in this resource group).')
param appName string

@description('Application (client) id of the Entra app registration users sign in to.')
@minLength(36)
param clientId string

@description('Entra tenant of the app registration.')
param tenantId string

@description('Paths Easy Auth lets through without a sign-in (a trailing /* covers everything below). The app\'s own keys still apply.')
param excludedPaths string[]

resource functionApp 'Microsoft.Web/sites@2025-03-01' existing = {
  name: appName
}

resource authSettings 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: excludedPaths
    }
    httpSettings: {
      requireHttps: true
      forwardProxy: {
        convention: 'NoProxy'
      }
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        // No client secret: the sign-in uses the ID token flow (enable "ID tokens" on the app registration), so
        // no secret has to live in the app settings, which the template replaces as a whole on every deployment.
        registration: {
          clientId: clientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            clientId
            'api://${clientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

