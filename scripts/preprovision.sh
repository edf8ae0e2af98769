#!/bin/sh
# azd preprovision hook: creates or updates the API's Microsoft Entra app registration (application ID URI, app
# roles, the dashboard's sign-in scope, service principal, Backup.Operator for you) and stores
# PGFLEX_AUTH_CLIENT_ID and PGFLEX_AUTH_AUDIENCE for main.bicep. A preset PGFLEX_AUTH_CLIENT_ID is used as it
# is. The work is in scripts/app-registration.mjs (Node, shared with scripts/preprovision.ps1 on Windows).
set -eu

if ! command -v az >/dev/null 2>&1; then
  echo "preprovision: the Azure CLI (az) is required to create the API's app registration; install it and run 'az login'." >&2
  exit 1
fi
exec node "$(cd "$(dirname "$0")" && pwd)/app-registration.mjs" preprovision
