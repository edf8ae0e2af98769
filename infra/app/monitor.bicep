// What a platform team watches in Azure Monitor: a workbook of the estate's backup health and scheduled-query
// alert rules, all over the app's OpenTelemetry metrics in the Log Analytics workspace behind Application
// Insights (table AppMetrics: Name, Sum, ItemCount, Min, Max, Properties = the metric's attributes). Counters
// and histograms arrive as deltas per export (one row per series and minute), gauges as their value (Sum).
// test/infra/monitor.test.ts checks that every metric these queries name is one the app emits.
@description('Azure region of the rules and the workbook (the workspace\'s).')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Log Analytics workspace the app\'s Application Insights writes to: the rules\' and the workbook\'s data source.')
param workspaceId string

@description('Prefix of the rule and action group names.')
param namePrefix string

@description('Comma-separated e-mail addresses the alerts go to. Empty, with no webhook either: no action group (the rules still fire in the portal).')
param alertEmails string = ''

@description('HTTPS webhook the alerts are posted to (common alert schema), e.g. a Logic App or an on-call tool\'s endpoint; readable on the action group, as in AVM\'s action group module. Empty, with no e-mail either: no action group.')
param alertWebhookUrl string = ''

@description('Hours a tagged server may stay unprotected before the alert fires. Servers are counted at each compliance sweep (daily by default), so more than the sweep interval means two sweeps in a row found it.')
@minValue(1)
@maxValue(47)
param unprotectedHours int = 25

@description('Hours since a protected server\'s last successful backup after which the stale-backup alert fires: 8 days, one weekly backup missed plus a day.')
@minValue(1)
param staleBackupHours int = 192

var emails = filter(map(split(alertEmails, ','), e => trim(e)), e => !empty(e))
var hasActionGroup = !empty(emails) || !empty(alertWebhookUrl)

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (hasActionGroup) {
  name: '${namePrefix}-alerts'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'pgflex'
    enabled: true
    emailReceivers: [
      for (email, i) in emails: {
        name: 'email-${i}'
        emailAddress: email
        useCommonAlertSchema: true
      }
    ]
    webhookReceivers: empty(alertWebhookUrl)
      ? []
      : [
          {
            name: 'webhook'
            serviceUri: alertWebhookUrl
            useCommonAlertSchema: true
          }
        ]
  }
}

var actionGroups = hasActionGroup ? [actionGroup.id] : []

// Servers are counted by class at each sweep; TaggedUnprotected and ProtectionFailed are the tagged servers
// without protection. Hourly buckets, each series' highest count, summed: the rule fires when every hour of the
// window had one and the gauge was reported since the window's first hour.
var unprotectedQuery = '''
AppMetrics
| where TimeGenerated > ago(window)
| where Name == "pgflex.servers"
| extend SweepClass = tostring(Properties["sweep_class"]), State = tostring(Properties["state"]), Subscription = tostring(Properties["subscription"]), Region = tostring(Properties["region"]), Vault = tostring(Properties["vault"]), Policy = tostring(Properties["policy"])
| summarize Servers = max(Sum) by Hour = bin(TimeGenerated, 1h), SweepClass, State, Subscription, Region, Vault, Policy
| summarize Unprotected = sumif(Servers, SweepClass in ("TaggedUnprotected", "ProtectionFailed")) by Hour
| summarize Since = min(Hour), UnprotectedServers = min(Unprotected)
| where Since <= ago(window) + 1h
| project UnprotectedServers
'''

// One row per vault and policy with the jobs that reached Failed in the window (the counter's deltas).
var jobFailedQuery = '''
AppMetrics
| where Name == "pgflex.backup.jobs"
| where tostring(Properties["outcome"]) == "Failed"
| extend Subscription = tostring(Properties["subscription"]), Vault = tostring(Properties["vault"]), Policy = tostring(Properties["policy"])
| summarize FailedJobs = sum(Sum) by Subscription, Vault, Policy
'''

// Each protected server's latest age of its last successful backup, in hours.
var staleQuery = '''
AppMetrics
| where Name == "pgflex.backup.last_success.age"
| extend Server = tostring(Properties["server"]), Vault = tostring(Properties["vault"]), Policy = tostring(Properties["policy"])
| summarize arg_max(TimeGenerated, Sum) by Server, Vault, Policy
| project Server, Vault, Policy, AgeHours = Sum
'''

// Restore tests report pgflex.restore_tests with outcome; the rule waits for them (no data: no alert).
var restoreTestFailedQuery = '''
AppMetrics
| where Name == "pgflex.restore_tests"
| where tostring(Properties["outcome"]) == "Failed"
| summarize FailedTests = sum(Sum)
'''

var rules = [
  {
    name: 'unprotected'
    displayName: 'pgflex: tagged server unprotected for more than ${unprotectedHours} hours'
    description: 'A server tagged for backup has had no protection (sweep class TaggedUnprotected or ProtectionFailed) for more than ${unprotectedHours} hours. Run `npx pgflex-autoprotect servers --class TaggedUnprotected` (and ProtectionFailed) for the servers and each one\'s fix.'
    severity: 2
    frequency: 'PT1H'
    window: 'P2D'
    query: 'let window = ${unprotectedHours}h;\n${unprotectedQuery}'
    measure: 'UnprotectedServers'
    aggregation: 'Minimum'
    threshold: 0
    dimensions: []
    autoMitigate: true
  }
  {
    name: 'backup-job-failed'
    displayName: 'pgflex: a backup job failed'
    description: 'A backup job of a protected server ended Failed. `npx pgflex-autoprotect jobs` lists it with its error; the app also raised its JobFailed alert with the recommended action.'
    severity: 1
    frequency: 'PT15M'
    window: 'PT15M'
    query: jobFailedQuery
    measure: 'FailedJobs'
    aggregation: 'Total'
    threshold: 0
    dimensions: ['Subscription', 'Vault', 'Policy']
    autoMitigate: false
  }
  {
    name: 'backup-stale'
    displayName: 'pgflex: last successful backup older than ${staleBackupHours} hours'
    description: 'A protected server\'s last successful backup is more than ${staleBackupHours} hours old (pgflex.backup.last_success.age). Check its jobs (`npx pgflex-autoprotect jobs --server <server>`), then start a backup (`npx pgflex-autoprotect backup <server> --wait`).'
    severity: 2
    frequency: 'PT1H'
    window: 'PT1H'
    query: staleQuery
    measure: 'AgeHours'
    aggregation: 'Maximum'
    threshold: staleBackupHours
    dimensions: ['Server', 'Vault', 'Policy']
    autoMitigate: true
  }
  {
    name: 'restore-test-failed'
    displayName: 'pgflex: a restore test failed'
    description: 'A restore test could not restore a server\'s backup (pgflex.restore_tests, outcome Failed): the backups may not be usable. Arrives with restore tests; until the app runs them, this rule has no data and stays quiet.'
    severity: 1
    frequency: 'PT1H'
    window: 'PT1H'
    query: restoreTestFailedQuery
    measure: 'FailedTests'
    aggregation: 'Total'
    threshold: 0
    dimensions: []
    autoMitigate: false
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [
        workspaceId
      ]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: rule.aggregation
            metricMeasureColumn: rule.measure
            operator: 'GreaterThan'
            threshold: rule.threshold
            dimensions: [
              for dimension in rule.dimensions: {
                name: dimension
                operator: 'Include'
                values: ['*']
              }
            ]
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: rule.autoMitigate
      actions: {
        actionGroups: actionGroups
      }
    }
  }
]

// The workbook's queries run in the workspace: workbook.json names it __WORKSPACE_ID__.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, namePrefix, 'pgflex-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'pgflex-autoprotect: backup health'
    category: 'workbook'
    sourceId: workspaceId
    serializedData: replace(loadTextContent('workbook.json'), '__WORKSPACE_ID__', workspaceId)
  }
}

output workbookId string = workbook.id
output alertRuleIds string[] = [for (rule, i) in rules: alertRules[i].id]
output actionGroupId string = hasActionGroup ? actionGroup.id : ''
