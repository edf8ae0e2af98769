# azd postdeploy hook (Windows): same as postdeploy.sh. Deploys infra/events.bicep, one Event Grid event
# subscription per system topic, retrying while the freshly deployed function is not yet listed.
$ErrorActionPreference = 'Stop'

foreach ($name in 'AZURE_SUBSCRIPTION_ID', 'AZURE_LOCATION', 'AZURE_ENV_NAME', 'AZURE_FUNCTION_APP_ID',
  'AZURE_STORAGE_ACCOUNT_ID', 'EVENT_GRID_TOPICS', 'EVENT_GRID_DEADLETTER_CONTAINER') {
  if (-not [Environment]::GetEnvironmentVariable($name)) {
    Write-Error "postdeploy: $name is not set; run 'azd provision' first."
  }
}
if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Write-Error 'postdeploy: the Azure CLI (az) is required to create the Event Grid subscriptions.'
}

$root = Split-Path -Parent $PSScriptRoot
$attempts = if ($env:PGFLEX_EVENTS_ATTEMPTS) { [int]$env:PGFLEX_EVENTS_ATTEMPTS } else { 10 }
$delay = if ($env:PGFLEX_EVENTS_RETRY_SECONDS) { [int]$env:PGFLEX_EVENTS_RETRY_SECONDS } else { 30 }
$params = Join-Path ([IO.Path]::GetTempPath()) "pgflex-events-$env:AZURE_ENV_NAME.parameters.json"
@{
  '$schema'      = 'https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#'
  contentVersion = '1.0.0.0'
  parameters     = @{
    topics                     = @{ value = (ConvertFrom-Json $env:EVENT_GRID_TOPICS -NoEnumerate) }
    functionAppId              = @{ value = $env:AZURE_FUNCTION_APP_ID }
    deadLetterStorageAccountId = @{ value = $env:AZURE_STORAGE_ACCOUNT_ID }
    deadLetterContainerName    = @{ value = $env:EVENT_GRID_DEADLETTER_CONTAINER }
  }
} | ConvertTo-Json -Depth 10 | Set-Content -Path $params

for ($attempt = 1; ; $attempt++) {
  Write-Host "postdeploy: creating Event Grid subscriptions (attempt $attempt of $attempts)"
  az deployment sub create --subscription $env:AZURE_SUBSCRIPTION_ID --location $env:AZURE_LOCATION `
    --name "pgflex-events-$env:AZURE_ENV_NAME" --template-file (Join-Path $root 'infra/events.bicep') `
    --parameters "@$params" --output none
  if ($LASTEXITCODE -eq 0) {
    Write-Host 'postdeploy: Event Grid subscriptions are in place.'
    exit 0
  }
  if ($attempt -ge $attempts) {
    Write-Error "postdeploy: giving up; run 'azd hooks run postdeploy' once 'az functionapp function list' shows onResourceEvent."
  }
  Start-Sleep -Seconds $delay
}
