#!/bin/sh
# azd postprovision hook: lets Microsoft sign-in (Easy Auth, infra/app/auth.bicep) use the app registration: the
# app's sign-in callback as a redirect URI and a federated credential trusting the app's identity (no secret).
# The work is in scripts/app-registration.mjs (shared with scripts/postprovision.ps1 on Windows).
set -eu

if ! command -v az >/dev/null 2>&1; then
  echo "postprovision: the Azure CLI (az) is required to finish the dashboard's sign-in; install it and run 'azd hooks run postprovision'." >&2
  exit 1
fi
exec node "$(cd "$(dirname "$0")" && pwd)/app-registration.mjs" postprovision
