# azd postprovision hook (Windows): same as postprovision.sh. Adds the sign-in redirect URI and the federated
# credential Easy Auth signs in with to the app registration; the work is in scripts/app-registration.mjs.
$ErrorActionPreference = 'Stop'

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Write-Error "postprovision: the Azure CLI (az) is required to finish the dashboard's sign-in; install it and run 'azd hooks run postprovision'."
}
node (Join-Path $PSScriptRoot 'app-registration.mjs') postprovision
exit $LASTEXITCODE
