# azd preprovision hook (Windows): same as preprovision.sh. Creates or updates the API's Microsoft Entra app
# registration and stores PGFLEX_AUTH_CLIENT_ID and PGFLEX_AUTH_AUDIENCE for main.bicep; the work is in
# scripts/app-registration.mjs.
$ErrorActionPreference = 'Stop'

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Write-Error "preprovision: the Azure CLI (az) is required to create the API's app registration; install it and run 'az login'."
}
node (Join-Path $PSScriptRoot 'app-registration.mjs') preprovision
exit $LASTEXITCODE
