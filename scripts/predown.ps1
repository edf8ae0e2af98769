# azd predown hook (Windows): same as predown.sh. Removes what `azd down` cannot see because it lives outside
# the app's resource group: the subscription-scope role assignments of the app's and the vaults' identities in
# every subscription they were made in, the "<rg>-events" resource groups holding system topics created in
# other subscriptions, and the app's event subscription on system topics it reused (those topics and their
# resource groups are not the app's and stay). Each step tolerates "already gone", so the hook can run again.
$ErrorActionPreference = 'Stop'

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Write-Error 'predown: the Azure CLI (az) is required to remove subscription-scope role assignments.'
}
# The API's app registration stays unless PGFLEX_DELETE_APP_REGISTRATION=true (scripts/app-registration.mjs).
node (Join-Path $PSScriptRoot 'app-registration.mjs') predown
if ($LASTEXITCODE -ne 0) {
  Write-Warning 'predown: the app registration could not be removed; the message above says how to remove it by hand.'
}
if (-not $env:EVENT_GRID_TOPICS -or -not $env:APP_PRINCIPAL_ID) {
  Write-Warning 'predown: nothing provisioned in this environment; skipping.'
  exit 0
}

$topics = @(ConvertFrom-Json $env:EVENT_GRID_TOPICS)
# Environments provisioned before topics could be reused have no EVENT_GRID_REUSED_TOPIC_IDS.
$reused = @()
if ($env:EVENT_GRID_REUSED_TOPIC_IDS) {
  $reused = @(ConvertFrom-Json $env:EVENT_GRID_REUSED_TOPIC_IDS | ForEach-Object { $_.ToLowerInvariant() })
}
# Subscriptions holding the app's role assignments: the ROLE_SUBSCRIPTION_IDS output, else the topics'.
if ($env:ROLE_SUBSCRIPTION_IDS) {
  $roleSubscriptions = @(ConvertFrom-Json $env:ROLE_SUBSCRIPTION_IDS)
} else {
  $roleSubscriptions = @($topics | ForEach-Object { $_.subscriptionId })
}
$roleSubscriptions = @($roleSubscriptions | Select-Object -Unique)
$vaultPrincipals = @()
if ($env:BACKUP_VAULT_PRINCIPAL_IDS) {
  $vaultPrincipals = @(ConvertFrom-Json $env:BACKUP_VAULT_PRINCIPAL_IDS)
}

foreach ($subscription in $roleSubscriptions) {
  foreach ($principal in @($env:APP_PRINCIPAL_ID) + $vaultPrincipals) {
    $ids = @(az role assignment list --subscription $subscription --scope "/subscriptions/$subscription" `
        --query "[?principalId=='$principal' && scope=='/subscriptions/$subscription'].id" --output tsv `
        --only-show-errors | Where-Object { $_ })
    if ($ids.Count -eq 0) { continue }
    Write-Host "predown: removing role assignments of $principal on subscription $subscription"
    az role assignment delete --subscription $subscription --ids @ids --yes --only-show-errors
    if ($LASTEXITCODE -ne 0) {
      Write-Warning "predown: could not remove them; remove by hand: az role assignment delete --ids $($ids -join ' ')"
    }
  }
}

foreach ($topic in $topics) {
  $id = "/subscriptions/$($topic.subscriptionId)/resourceGroups/$($topic.resourceGroupName)/providers/Microsoft.EventGrid/systemTopics/$($topic.name)"
  if ($reused -contains $id.ToLowerInvariant()) {
    Write-Host "predown: removing the app's event subscription from the reused system topic $($topic.name) (the topic stays)"
    az eventgrid system-topic event-subscription delete --subscription $topic.subscriptionId `
      --resource-group $topic.resourceGroupName --system-topic-name $topic.name `
      --name pgflex-autoprotect-onResourceEvent --yes --only-show-errors
    if ($LASTEXITCODE -ne 0) {
      Write-Warning "predown: could not remove it; remove by hand: az eventgrid system-topic event-subscription delete --subscription $($topic.subscriptionId) --resource-group $($topic.resourceGroupName) --system-topic-name $($topic.name) --name pgflex-autoprotect-onResourceEvent"
    }
  } elseif ($topic.subscriptionId -ne $env:AZURE_SUBSCRIPTION_ID) {
    Write-Host "predown: deleting resource group $($topic.resourceGroupName) in subscription $($topic.subscriptionId)"
    az group delete --subscription $topic.subscriptionId --name $topic.resourceGroupName --yes --no-wait --only-show-errors
    if ($LASTEXITCODE -ne 0) {
      Write-Warning "predown: could not delete $($topic.resourceGroupName); delete it by hand"
    }
  }
}
