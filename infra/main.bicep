// pgflex-autoprotect: everything `azd up` provisions. Subscription scope: the resource group, the app and its
// storage and telemetry, one Backup vault per region, role assignments in every subscription in scope and
// the Event Grid system topics. The event subscriptions follow in events.bicep, after the code is deployed.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names and tags derive from it.')
param environmentName string

@minLength(1)
@description('Region of the app and its resource group.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Comma-separated regions that get a Backup vault; a server is protected by the vault of its own region. Empty: the app\'s region.')
param backupRegions string = ''

@description('Comma-separated subscription ids in scope (PGFLEX_SCOPES). Empty: the subscription deployed to.')
param scopes string = ''

@description('Comma-separated resource ids of existing Microsoft.Resources.Subscriptions system topics to reuse, at most one per subscription in scope (Azure allows one per subscription). Empty: a topic is created in each.')
param existingSystemTopics string = ''

@description('Server tag that asks for protection (PGFLEX_BACKUP_TAG).')
param backupTagName string = 'backup'

@description('Tag value to policy name pairs (PGFLEX_POLICY_MAP). Empty: weekly=<defaultPolicyName>, the policy every vault gets.')
param policyMap string = ''

@description('Name of the weekly (P1W) policy created in every vault.')
@minLength(3)
@maxLength(63)
param defaultPolicyName string = 'pgflex-weekly'

@description('ISO 8601 retention of weekly backups, e.g. P12W (PGFLEX_POLICY_RETENTION).')
param policyRetention string = 'P12W'

@description('Let the app grant vault identities their two roles per server (true), or grant them here on every subscription in scope (false).')
param autoGrantRoles bool = false

@description('enforce: protect and remediate; report: change nothing in Azure (PGFLEX_MODE).')
@allowed(['enforce', 'report'])
param mode string = 'enforce'

@description('Microsoft Entra tenant whose tokens the API accepts.')
param authTenantId string = tenant().tenantId

@description('Audience API tokens must carry: the application ID URI or client id of the API\'s app registration. Empty: api://pgflex-autoprotect-<environmentName>.')
param authAudience string = ''

@description('Application (client) id of the API\'s app registration (PGFLEX_AUTH_CLIENT_ID, set by the preprovision hook). Set: Microsoft sign-in (Easy Auth) in front of the app. Empty: none.')
param authClientId string = ''

@description('Redundancy of the Backup vaults\' store.')
@allowed(['LocallyRedundant', 'GeoRedundant', 'ZoneRedundant'])
param vaultStorageRedundancy string = 'LocallyRedundant'

@description('Days deleted backup data stays recoverable (vault soft delete).')
@minValue(14)
@maxValue(180)
param softDeleteRetentionDays int = 14

@description('Tag that marks the vaults as this app\'s (PGFLEX_VAULT_MARKER_TAG).')
param vaultMarkerTag string = 'pgflex-autoprotect'

@description('Create an Event Grid custom topic for the app\'s alerts (CloudEvents, identity only) and point PGFLEX_ALERT_EVENTGRID_ENDPOINT at it.')
param alertTopic bool = true

@description('Comma-separated e-mail addresses the Azure Monitor alert rules notify (docs/monitoring.md). Empty, with no webhook either: no action group.')
param monitorAlertEmails string = ''

@description('HTTPS webhook the Azure Monitor alert rules post to (common alert schema). Empty, with no e-mail either: no action group.')
param monitorAlertWebhookUrl string = ''

@description('Hours a tagged server may stay unprotected before its Azure Monitor alert fires; more than the sweep interval (daily).')
@minValue(1)
@maxValue(47)
param monitorUnprotectedHours int = 25

@description('Resource group name; empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Function App name; empty: derived from the subscription, environment and region.')
param functionAppName string = ''

@description('Storage account name; empty: derived from the subscription, environment and region.')
param storageAccountName string = ''

@description('Create a storage account and container that restores write their files to (PGFLEX_RESTORE_TARGETS). Ignored when restoreContainerId is set.')
param restoreStorage bool = true

@description('Days restored files stay in the created restore container before a lifecycle rule deletes them.')
@minValue(1)
param restoreRetentionDays int = 7

@description('Resource id of an existing blob container to restore to instead of a created one: it only gets role assignments.')
param restoreContainerId string = ''

// Segment n of a resource id split on '/', never out of range (a malformed id reaches the checks below).
func idSegment(id string, n int) string => last(take(split(id, '/'), n + 1)) ?? ''

// /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.EventGrid/systemTopics/<name>, in any case.
func isSystemTopicId(id string) bool =>
  length(split(id, '/')) == 9 && empty(idSegment(id, 0)) && toLower('${idSegment(id, 1)}/${idSegment(id, 3)}/${idSegment(id, 5)}/${idSegment(id, 6)}/${idSegment(id, 7)}') == 'subscriptions/resourcegroups/providers/microsoft.eventgrid/systemtopics'

// /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<name>/blobServices/default/containers/<name>.
func isContainerId(id string) bool =>
  length(split(id, '/')) == 13 && empty(idSegment(id, 0)) && toLower('${idSegment(id, 1)}/${idSegment(id, 3)}/${idSegment(id, 5)}/${idSegment(id, 6)}/${idSegment(id, 7)}/${idSegment(id, 9)}/${idSegment(id, 10)}/${idSegment(id, 11)}') == 'subscriptions/resourcegroups/providers/microsoft.storage/storageaccounts/blobservices/default/containers'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var rgName = empty(resourceGroupName) ? '${abbrs.resourcesResourceGroups}${environmentName}' : resourceGroupName
var appName = empty(functionAppName) ? '${abbrs.webSitesFunctions}${resourceToken}' : functionAppName
var stName = empty(storageAccountName) ? '${abbrs.storageStorageAccounts}${resourceToken}' : storageAccountName
var deploymentContainerName = toLower('app-package-${take(appName, 32)}-${take(resourceToken, 7)}')
var deadLetterContainerName = 'eventgrid-deadletter'

// Regions normalised as the app compares them (lower case, no spaces).
var regionList = filter(map(split(backupRegions, ','), r => toLower(replace(r, ' ', ''))), r => !empty(r))
var regions = empty(regionList) ? [toLower(replace(location, ' ', ''))] : regionList
var vaultNames = map(regions, r => '${abbrs.dataProtectionBackupVaults}${resourceToken}-${r}')
var scopeList = filter(map(split(scopes, ','), s => toLower(trim(s))), s => !empty(s))
var scopeIds = empty(scopeList) ? [subscription().subscriptionId] : scopeList
// One system topic per subscription in scope: the subscription's existing one when existingSystemTopics names
// it, else a new one (outside the app's own subscription in a resource group of its own).
var existingTopicIds = filter(map(split(existingSystemTopics, ','), t => trim(t)), t => !empty(t))
var topicIdProblems = filter(existingTopicIds, t => !isSystemTopicId(t))
var topicScopeProblems = filter(existingTopicIds, t => !contains(scopeIds, toLower(idSegment(t, 2))))
var existingTopicSubscriptions = map(existingTopicIds, t => toLower(idSegment(t, 2)))
var topicDuplicateSubscriptions = map(
  filter(
    range(0, length(existingTopicSubscriptions)),
    i => indexOf(existingTopicSubscriptions, existingTopicSubscriptions[i]) != i
  ),
  i => existingTopicSubscriptions[i]
)
var existingTopicsChecked = !empty(topicIdProblems)
  ? fail('existingSystemTopics (PGFLEX_EXISTING_SYSTEM_TOPICS): ${join(topicIdProblems, ', ')} is not a system topic resource id. Use /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.EventGrid/systemTopics/<name>, as az eventgrid system-topic list --query "[?topicType==\'Microsoft.Resources.Subscriptions\'].id" prints them')
  : !empty(topicScopeProblems)
      ? fail('existingSystemTopics (PGFLEX_EXISTING_SYSTEM_TOPICS): ${join(topicScopeProblems, ', ')} is in a subscription that is not in scope (PGFLEX_SCOPES). Add its subscription to PGFLEX_SCOPES or remove the topic from PGFLEX_EXISTING_SYSTEM_TOPICS.')
      : !empty(topicDuplicateSubscriptions)
          ? fail('existingSystemTopics (PGFLEX_EXISTING_SYSTEM_TOPICS) names two topics in subscription ${join(topicDuplicateSubscriptions, ', ')}; a subscription has one Microsoft.Resources.Subscriptions system topic: keep that one.')
          : toObject(existingTopicIds, t => toLower(idSegment(t, 2)), t => t)
var reusedTopicIds = map(scopeIds, s => existingTopicsChecked[?s] ?? '')
var topicName = '${abbrs.eventGridSystemTopics}${resourceToken}'
var topicNames = map(reusedTopicIds, t => empty(t) ? topicName : idSegment(t, 8))
var topicResourceGroupNames = map(
  range(0, length(scopeIds)),
  i =>
    !empty(reusedTopicIds[i])
      ? idSegment(reusedTopicIds[i], 4)
      : scopeIds[i] == subscription().subscriptionId ? rgName : '${rgName}-events'
)
var identityName = '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
// The restore target (app/restore.bicep): the existing container named, else the account created for restores.
var restoreExisting = !empty(trim(restoreContainerId))
var restoreTarget = !restoreExisting
  ? '${rg.id}/providers/Microsoft.Storage/storageAccounts/${abbrs.storageStorageAccounts}rs${resourceToken}/blobServices/default/containers/restores'
  : isContainerId(trim(restoreContainerId))
      ? trim(restoreContainerId)
      : fail('restoreContainerId (PGFLEX_RESTORE_CONTAINER_ID): ${restoreContainerId} is not a blob container resource id; Azure Backup restores into a container, not an account. Use /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Storage/storageAccounts/<account>/blobServices/default/containers/<container>.')
var applicationInsightsName = '${abbrs.insightsComponents}${resourceToken}'

// Must match src/lib/store: QueueNames and its *_TABLE constants (test/infra checks both).
var queueNames = [
  'protect-requests'
  'protect-checks'
  'sweep-scopes'
]
var tableNames = [
  'servers'
  'audit'
  'jobs'
  'jobIndex'
  'jobsByDay'
  'activeJobs'
  'cursors'
  'alerts'
  'sweeps'
  'sweepRows'
  'restores'
  'armBudget'
  'restoreTests'
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: applicationInsightsName
    location: location
    tags: tags
  }
}

// The workbook and alert rules over the app's metrics (docs/monitoring.md).
module monitor 'app/monitor.bicep' = {
  name: 'monitor'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceId: monitoring.outputs.logAnalyticsId
    namePrefix: 'pgflex-${resourceToken}'
    alertEmails: monitorAlertEmails
    alertWebhookUrl: monitorAlertWebhookUrl
    unprotectedHours: monitorUnprotectedHours
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: stName
    location: location
    tags: tags
    containerNames: [
      deploymentContainerName
      deadLetterContainerName
    ]
    queueNames: queueNames
    tableNames: tableNames
  }
}

module vaults 'app/backup-vault.bicep' = [
  for (region, i) in regions: {
    name: 'backup-vault-${region}'
    scope: rg
    params: {
      name: vaultNames[i]
      location: region
      tags: union(tags, {
        '${vaultMarkerTag}': 'true'
      })
      policyName: defaultPolicyName
      retentionDuration: policyRetention
      storageRedundancy: vaultStorageRedundancy
      softDeleteRetentionDays: softDeleteRetentionDays
    }
  }
]

// Every setting the app reads in Azure (src/lib/config/settings.ts, requiredInAzure); test/infra checks it.
var appSettings = {
  AzureWebJobsStorage__accountName: storage.outputs.name
  // Service URLs from the cloud's own storage suffix (sovereign clouds): the host and the app prefer them to
  // the account name, which they would complete with the public cloud's suffix.
  AzureWebJobsStorage__blobServiceUri: 'https://${storage.outputs.name}.blob.${environment().suffixes.storage}'
  AzureWebJobsStorage__queueServiceUri: 'https://${storage.outputs.name}.queue.${environment().suffixes.storage}'
  AzureWebJobsStorage__tableServiceUri: 'https://${storage.outputs.name}.table.${environment().suffixes.storage}'
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AZURE_CLIENT_ID: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  PGFLEX_MODE: mode
  PGFLEX_SCOPES: join(scopeIds, ',')
  PGFLEX_BACKUP_TAG: backupTagName
  PGFLEX_POLICY_MAP: empty(policyMap) ? 'weekly=${defaultPolicyName}' : policyMap
  PGFLEX_POLICY_RETENTION: policyRetention
  PGFLEX_VAULT_MAP: join(
    map(
      range(0, length(regions)),
      i => '${regions[i]}=${rg.id}/providers/Microsoft.DataProtection/backupVaults/${vaultNames[i]}'
    ),
    ','
  )
  PGFLEX_VAULT_MARKER_TAG: vaultMarkerTag
  PGFLEX_AUTO_GRANT_ROLES: autoGrantRoles ? 'true' : 'false'
  PGFLEX_AUTH_TENANT_ID: authTenantId
  PGFLEX_AUTH_AUDIENCE: empty(authAudience) ? 'api://pgflex-autoprotect-${environmentName}' : authAudience
  PGFLEX_ARM_CREDENTIAL: 'managedIdentity'
  // One Resource Graph query per sweep and per poll for every subscription and vault: Data Protection's job list
  // takes no $filter, so without it each poll reads every vault's whole job history.
  PGFLEX_USE_RESOURCE_GRAPH: 'true'
  // The cloud's own Resource Manager (sovereign clouds); the app's default is the public cloud's.
  PGFLEX_ARM_ENDPOINT: environment().resourceManager
  PGFLEX_ALERT_EVENTGRID_ENDPOINT: alertTopic ? alertTopicModule!.outputs.endpoint : ''
  PGFLEX_RESTORE_TARGETS: restoreStorage || restoreExisting ? restoreTarget : ''
  // Easy Auth's credential for the app registration: this identity's token (infra/app/auth.bicep), no secret.
  OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID: identity.outputs.clientId
}

module alertTopicModule 'app/alert-topic.bicep' = if (alertTopic) {
  name: 'alert-topic'
  scope: rg
  params: {
    name: '${abbrs.eventGridDomainsTopics}${resourceToken}-alerts'
    location: location
    tags: tags
    senderIdentityName: identityName
  }
  dependsOn: [
    identity
  ]
}

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    name: appName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    appTags: union(tags, {
      'azd-service-name': 'api'
    })
    identityId: identity.outputs.id
    storageAccountName: stName
    deploymentContainerName: deploymentContainerName
    appSettings: appSettings
  }
}

// Microsoft sign-in in front of the dashboard, with the registration the preprovision hook made or was given.
module signIn 'app/auth.bicep' = if (!empty(authClientId)) {
  name: 'sign-in'
  scope: rg
  params: {
    appName: appName
    clientId: authClientId
    audience: appSettings.PGFLEX_AUTH_AUDIENCE
    tenantId: authTenantId
  }
  dependsOn: [
    functionApp
  ]
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    identityName: identityName
    storageAccountName: stName
    applicationInsightsName: applicationInsightsName
    vaultNames: vaultNames
  }
  dependsOn: [
    identity
    storage
    monitoring
    vaults
  ]
}

module scopeDeployments 'app/scope.bicep' = [
  for (scopeId, i) in scopeIds: {
    name: 'scope-${resourceToken}-${i}'
    scope: subscription(scopeId)
    params: {
      appSubscriptionId: subscription().subscriptionId
      appResourceGroupName: rgName
      identityName: identityName
      vaultNames: vaultNames
      vaultPrincipalIds: [for (region, j) in regions: vaults[j].outputs.principalId]
      autoGrantRoles: autoGrantRoles
      topicResourceGroupName: topicResourceGroupNames[i]
      createTopicResourceGroup: scopeId != subscription().subscriptionId && empty(reusedTopicIds[i])
      topicName: topicNames[i]
      reuseTopic: !empty(reusedTopicIds[i])
      location: location
      tags: tags
    }
    dependsOn: [
      identity
      vaults
    ]
  }
]

module restore 'app/restore.bicep' = if (restoreStorage || restoreExisting) {
  name: 'restore-${resourceToken}'
  scope: resourceGroup(idSegment(restoreTarget, 2), idSegment(restoreTarget, 4))
  params: {
    accountName: idSegment(restoreTarget, 8)
    containerName: idSegment(restoreTarget, 12)
    createAccount: !restoreExisting
    location: location
    tags: tags
    retentionDays: restoreRetentionDays
    appSubscriptionId: subscription().subscriptionId
    appResourceGroupName: rgName
    identityName: identityName
    vaultNames: vaultNames
    vaultPrincipalIds: [for (region, j) in regions: vaults[j].outputs.principalId]
    autoGrantRoles: autoGrantRoles
  }
  dependsOn: [
    identity
  ]
}

// The Backup vaults live in the app's resource group: the app reads them (sweeps and `doctor` find them by
// their marker tag) even when PGFLEX_SCOPES leaves their subscription out.
var vaultSubscriptionInScope = contains(scopeIds, subscription().subscriptionId)

module vaultSubscriptionReader 'app/reader.bicep' = if (!vaultSubscriptionInScope) {
  name: 'vault-reader-${resourceToken}'
  params: {
    appSubscriptionId: subscription().subscriptionId
    appResourceGroupName: rgName
    identityName: identityName
  }
  dependsOn: [
    identity
  ]
}

module deadLetterRbac 'app/deadletter-rbac.bicep' = [
  for (scopeId, i) in scopeIds: {
    name: 'deadletter-rbac-${i}'
    scope: rg
    params: {
      topicSubscriptionId: scopeId
      topicResourceGroupName: topicResourceGroupNames[i]
      topicName: topicNames[i]
      storageAccountName: stName
      containerName: deadLetterContainerName
    }
    dependsOn: [
      storage
      scopeDeployments
    ]
  }
]

var appUrl = 'https://${functionApp.outputs.defaultHostName}'

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_ID string = functionApp.outputs.id
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.id
output AZURE_CLIENT_ID string = identity.outputs.clientId
output BACKUP_VAULT_IDS string[] = [for (region, i) in regions: vaults[i].outputs.id]
output BACKUP_VAULT_PRINCIPAL_IDS string[] = [for (region, i) in regions: vaults[i].outputs.principalId]
output APP_PRINCIPAL_ID string = identity.outputs.principalId
output EVENT_GRID_TOPICS object[] = [
  for (scopeId, i) in scopeIds: {
    subscriptionId: scopeDeployments[i].outputs.subscriptionId
    resourceGroupName: scopeDeployments[i].outputs.topicResourceGroupName
    name: scopeDeployments[i].outputs.topicName
  }
]
// For the predown hook: reused topics keep their resource group (only the app's event subscription goes), and
// the app's role assignments are removed from every subscription listed here.
output EVENT_GRID_REUSED_TOPIC_IDS string[] = filter(reusedTopicIds, t => !empty(t))
output ROLE_SUBSCRIPTION_IDS string[] = vaultSubscriptionInScope
  ? scopeIds
  : concat(scopeIds, [subscription().subscriptionId])
output EVENT_GRID_DEADLETTER_CONTAINER string = deadLetterContainerName
output ALERT_TOPIC_ID string = alertTopic ? alertTopicModule!.outputs.id : ''
output RESTORE_CONTAINER_ID string = restoreStorage || restoreExisting ? restoreTarget : ''
output APP_URL string = appUrl
output API_URL string = '${appUrl}/api'
output DASHBOARD_URL string = '${appUrl}/api/dashboard'
output MONITOR_WORKBOOK_ID string = monitor.outputs.workbookId
