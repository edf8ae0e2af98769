#!/bin/sh
# azd postdeploy hook: deploys infra/events.bicep, one Event Grid event subscription per system topic,
# delivering to the onResourceEvent function. It runs after the code is deployed because Event Grid
# checks that the function exists; right after a deployment the function can take a minute to be listed,
# so the deployment is retried. azd passes its environment (main.bicep's outputs) as variables.
set -eu

for name in AZURE_SUBSCRIPTION_ID AZURE_LOCATION AZURE_ENV_NAME AZURE_FUNCTION_APP_ID AZURE_STORAGE_ACCOUNT_ID \
  EVENT_GRID_TOPICS EVENT_GRID_DEADLETTER_CONTAINER; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "postdeploy: $name is not set; run 'azd provision' first." >&2
    exit 1
  fi
done
if ! command -v az >/dev/null 2>&1; then
  echo "postdeploy: the Azure CLI (az) is required to create the Event Grid subscriptions." >&2
  exit 1
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
attempts="${PGFLEX_EVENTS_ATTEMPTS:-10}"
delay="${PGFLEX_EVENTS_RETRY_SECONDS:-30}"
attempt=1
while :; do
  echo "postdeploy: creating Event Grid subscriptions (attempt $attempt of $attempts)"
  if az deployment sub create \
    --subscription "$AZURE_SUBSCRIPTION_ID" \
    --location "$AZURE_LOCATION" \
    --name "pgflex-events-$AZURE_ENV_NAME" \
    --template-file "$root/infra/events.bicep" \
    --parameters topics="$EVENT_GRID_TOPICS" \
    functionAppId="$AZURE_FUNCTION_APP_ID" \
    deadLetterStorageAccountId="$AZURE_STORAGE_ACCOUNT_ID" \
    deadLetterContainerName="$EVENT_GRID_DEADLETTER_CONTAINER" \
    --output none; then
    echo "postdeploy: Event Grid subscriptions are in place."
    exit 0
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "postdeploy: giving up; run 'azd hooks run postdeploy' once 'az functionapp function list' shows onResourceEvent." >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep "$delay"
done
