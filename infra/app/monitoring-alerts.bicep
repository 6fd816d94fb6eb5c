// What an operator watches: log alert rules over the handler's request events and a workbook
// that shows them. The handler writes one JSON line per request (src/telemetry.rs); the Functions
// host sends each line to Application Insights as a trace (category Host.Function.Console, the
// line in `message`), so every query starts by parsing it. Each query is a file in alerts/, and a
// test (tests/it/operator_view.rs) checks that every field the queries and the workbook read is
// one the handler writes.

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Application Insights component that receives the handler\'s logs.')
param applicationInsightsName string

@description('Prefix of the alert rule names.')
param namePrefix string

@description('Action groups notified when a rule fires (resource ids); none: the alerts show in Azure Monitor only.')
param actionGroupIds array = []

@description('401 and 403 answers in 5 minutes that make a burst.')
@minValue(1)
param authRefusalThreshold int = 50

@description('Failed on-behalf-of exchanges in 15 minutes that raise an alert.')
@minValue(1)
param oboFailureThreshold int = 5

@description('Tool calls Graph throttled in 15 minutes that raise an alert.')
@minValue(1)
param graphThrottlingThreshold int = 20

@description('5xx answers (503 aside) in 5 minutes that raise an alert.')
@minValue(1)
param serverErrorThreshold int = 5

@description('429 and 503 answers in 5 minutes that raise an alert.')
@minValue(1)
param shedThreshold int = 10

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Severity 1 (error) for what users feel now, 2 (warning) for what they may feel soon. Each
// rule counts matching rows over its window, split by the dimension that tells an operator
// where to look first.
var rules = [
  {
    name: 'auth-refusals'
    displayName: 'MCP server: burst of 401/403 answers'
    description: 'Many requests were refused by token validation or tool authorization. The reason dimension says which rule refused them.'
    severity: 2
    frequency: 'PT5M'
    window: 'PT5M'
    threshold: authRefusalThreshold
    dimension: 'reason'
    query: loadTextContent('alerts/auth-refusals.kql')
  }
  {
    name: 'obo-failures'
    displayName: 'MCP server: on-behalf-of exchanges failing'
    description: 'Tool calls could not get a Microsoft Graph token. consent_required: admin consent is missing; identity_unavailable or rejected: the managed identity or its federated credential; entra_unreachable: Entra ID.'
    severity: 1
    frequency: 'PT5M'
    window: 'PT15M'
    threshold: oboFailureThreshold
    dimension: 'exchange'
    query: loadTextContent('alerts/obo-failures.kql')
  }
  {
    name: 'graph-throttling'
    displayName: 'MCP server: Microsoft Graph throttling'
    description: 'Microsoft Graph answered 429 to many tool calls. graph_request_id in the events is what Microsoft support asks for.'
    severity: 2
    frequency: 'PT5M'
    window: 'PT15M'
    threshold: graphThrottlingThreshold
    dimension: 'tool'
    query: loadTextContent('alerts/graph-throttling.kql')
  }
  {
    name: 'server-errors'
    displayName: 'MCP server: 5xx answers'
    description: 'The handler answered with server errors (503 aside). Look up the request_id in the traces.'
    severity: 1
    frequency: 'PT5M'
    window: 'PT5M'
    threshold: serverErrorThreshold
    dimension: 'route'
    query: loadTextContent('alerts/server-errors.kql')
  }
  {
    name: 'shed-requests'
    displayName: 'MCP server: requests shed (429/503)'
    description: 'The handler turned requests away for want of capacity or of a dependency; the reason dimension says which.'
    severity: 1
    frequency: 'PT5M'
    window: 'PT5M'
    threshold: shedThreshold
    dimension: 'reason'
    query: loadTextContent('alerts/shed-requests.kql')
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
        applicationInsights.id
      ]
      evaluationFrequency: rule.frequency
      windowSize: rule.window
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            dimensions: [
              {
                name: rule.dimension
                operator: 'Include'
                values: [
                  '*'
                ]
              }
            ]
            operator: 'GreaterThanOrEqual'
            threshold: rule.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: actionGroupIds
      }
    }
  }
]

// A shared workbook beside the component: traffic, refusals, exchanges, Graph throttling and
// the failed requests with everything needed to follow one up. Its name must be a GUID.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsights.id, 'mcp-operations-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'MCP server operations'
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: loadTextContent('workbook.json')
  }
}
