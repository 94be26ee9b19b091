// Azure Monitor alerts on the app's own [LoggerMessage] events in Application Insights (queries in infra/alerts/*.kql,
// what each means and what to do in docs/deploy.md, "Alerts"), and the action group that e-mails them.
// Log search alerts query the Application Insights component, so the queries use its tables (traces, exceptions)
// and the event id the logger writes to customDimensions.EventId.

@description('Azure region of the alert rules (the action group is global).')
param location string

@description('Tags applied to every resource.')
param tags { *: string }

@description('Suffix of the resource names (the environment\'s resource token).')
param nameSuffix string

@description('Name of the Application Insights component the rules query.')
param applicationInsightsName string

@description('Address the action group e-mails.')
@minLength(3)
param alertEmail string

@description('Whether the nightly sync is on: the "no completed nightly run" rule exists only then.')
param nightlySyncEnabled bool

@description('Permanent push failures in 6 hours (and above twice the recent average) that raise the "failed links rising" alert.')
@minValue(1)
param failedLinksThreshold int

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${nameSuffix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'unsubsync'
    enabled: true
    emailReceivers: [
      {
        name: 'admin'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// One entry per rule; threshold rules on a column use measureColumn, the others count result rows.
var rules = [
  {
    key: 'poison-message'
    displayName: 'UnsubscribeSync: a message reached a poison queue'
    description: 'A queue message failed 5 times and went to its -poison queue. See docs/deploy.md, "Alerts".'
    severity: 2
    query: loadTextContent('../alerts/poison-message.kql')
    frequency: 'PT15M'
    window: 'PT15M'
    measureColumn: ''
    operator: 'GreaterThan'
    threshold: 0
    deploy: true
  }
  {
    key: 'failed-links-rising'
    displayName: 'UnsubscribeSync: failed links rising'
    description: 'Permanent push failures in the last 6 hours are over the threshold and twice the recent average. See docs/deploy.md, "Alerts".'
    severity: 2
    query: loadTextContent('../alerts/failed-links-rising.kql')
    frequency: 'PT1H'
    window: 'P2D'
    measureColumn: 'Recent'
    operator: 'GreaterThanOrEqual'
    threshold: failedLinksThreshold
    deploy: true
  }
  {
    key: 'nightly-run-missing'
    displayName: 'UnsubscribeSync: no completed nightly run in 26 hours'
    description: 'The nightly sync is on but no run completed in 26 hours. See docs/deploy.md, "Alerts".'
    severity: 1
    query: loadTextContent('../alerts/nightly-run-missing.kql')
    frequency: 'PT1H'
    window: 'P2D'
    measureColumn: ''
    operator: 'GreaterThan'
    threshold: 0
    deploy: nightlySyncEnabled
  }
  {
    key: 'requirement-check-failing'
    displayName: 'UnsubscribeSync: a requirement check is failing'
    description: 'Salesforce sign-in, the opt-out field or storage failed in the last hour. See docs/deploy.md, "Alerts".'
    severity: 1
    query: loadTextContent('../alerts/requirement-check-failing.kql')
    frequency: 'PT15M'
    window: 'PT1H'
    measureColumn: ''
    operator: 'GreaterThan'
    threshold: 0
    deploy: true
  }
  {
    key: 'budget-stop'
    displayName: 'UnsubscribeSync: the Salesforce API budget stopped work'
    description: 'Writes were deferred because the API budget or the daily limit was reached. See docs/deploy.md, "Alerts".'
    severity: 3
    query: loadTextContent('../alerts/budget-stop.kql')
    frequency: 'PT1H'
    window: 'PT1H'
    measureColumn: ''
    operator: 'GreaterThan'
    threshold: 0
    deploy: true
  }
]

resource queryRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in filter(rules, r => r.deploy): {
    name: 'alert-${rule.key}-${nameSuffix}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [
        applicationInsights.id
      ]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: empty(rule.measureColumn) ? 'Count' : 'Maximum'
            metricMeasureColumn: empty(rule.measureColumn) ? null : rule.measureColumn
            operator: rule.operator
            threshold: rule.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      // Resolved by itself once the query finds nothing again, so one incident sends one mail, not one per evaluation.
      autoMitigate: true
      actions: {
        actionGroups: [
          actionGroup.id
        ]
      }
    }
  }
]

@description('Names of the alert rules deployed.')
output ruleNames string[] = [for (rule, i) in filter(rules, r => r.deploy): queryRules[i].name]
