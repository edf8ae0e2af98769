// Microsoft sign-in in front of the app (App Service Authentication, "Easy Auth", authsettingsV2) with the API's
// own app registration, which the preprovision hook creates (scripts/app-registration.mjs). Every request must be
// authenticated: a browser without a session is sent to the Microsoft sign-in page and comes back to the page it
// asked for (the dashboard); a request with a bearer token for the API (its audience: the application ID URI or the
// client id) passes through to the app, which checks the function key, the token and its roles itself, as it does
// without Easy Auth. Only the liveness probe is excluded (it holds nothing; the function key still guards it).
// No client secret: Easy Auth proves the registration with a token of the app's user-assigned identity, which the
// registration trusts through a federated credential (added by the postprovision hook), named by the
// OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID app setting. The token store keeps the user's access token for the API, and
// the dashboard reads it from /.auth/me.
@description('Function App name.')
param appName string

@description('Application (client) id of the API\'s app registration.')
param clientId string

@description('Application ID URI of the registration: the audience the API accepts (PGFLEX_AUTH_AUDIENCE).')
param audience string

@description('Microsoft Entra tenant of the registration.')
param tenantId string

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: appName
}

resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'RedirectToLoginPage'
      redirectToProvider: 'azureactivedirectory'
      excludedPaths: [
        '/api/health'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
          clientId: clientId
          clientSecretSettingName: 'OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID'
        }
        login: {
          // The API's scope: the token store then holds an access token the API accepts.
          loginParameters: [
            'scope=openid profile email offline_access ${audience}/user_impersonation'
          ]
        }
        validation: {
          allowedAudiences: [
            audience
            clientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
      preserveUrlFragmentsForLogins: true
    }
  }
}
