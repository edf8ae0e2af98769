#!/bin/sh
# azd predown hook: removes what `azd down` cannot see because it lives outside the app's resource group:
# the subscription-scope role assignments of the app's and the vaults' identities in every subscription they
# were made in (those in scope and the vaults' own), the "<rg>-events" resource groups holding system topics
# created in other subscriptions, and the app's event subscription on system topics it reused (those topics
# and their resource groups are not the app's and stay). Each step tolerates "already gone", so the hook can
# run again. scripts/predown.ps1 does the same on Windows.
set -eu

if ! command -v az >/dev/null 2>&1; then
  echo "predown: the Azure CLI (az) is required to remove subscription-scope role assignments." >&2
  exit 1
fi
# The API's app registration stays unless PGFLEX_DELETE_APP_REGISTRATION=true (scripts/app-registration.mjs).
node "$(cd "$(dirname "$0")" && pwd)/app-registration.mjs" predown ||
  echo "predown: the app registration could not be removed; the message above says how to remove it by hand." >&2
if [ -z "${EVENT_GRID_TOPICS:-}" ] || [ -z "${APP_PRINCIPAL_ID:-}" ]; then
  echo "predown: nothing provisioned in this environment; skipping." >&2
  exit 0
fi

# "subscriptionId resourceGroupName name reused|created" per system topic, from the EVENT_GRID_TOPICS and
# EVENT_GRID_REUSED_TOPIC_IDS outputs (JSON arrays); environments provisioned before topics could be reused
# have no EVENT_GRID_REUSED_TOPIC_IDS.
topics="$(printf '%s' "$EVENT_GRID_TOPICS" | REUSED="${EVENT_GRID_REUSED_TOPIC_IDS:-[]}" node -e '
  const topics = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const reused = new Set(JSON.parse(process.env.REUSED).map((id) => id.toLowerCase()));
  for (const t of topics) {
    const id = `/subscriptions/${t.subscriptionId}/resourceGroups/${t.resourceGroupName}/providers/Microsoft.EventGrid/systemTopics/${t.name}`;
    console.log(`${t.subscriptionId} ${t.resourceGroupName} ${t.name} ${reused.has(id.toLowerCase()) ? "reused" : "created"}`);
  }')"
# Subscriptions holding the app's role assignments: the ROLE_SUBSCRIPTION_IDS output, else (older
# environments) the topics' subscriptions.
role_subscriptions="$(printf '%s' "$EVENT_GRID_TOPICS" | ROLES="${ROLE_SUBSCRIPTION_IDS:-}" node -e '
  const ids = process.env.ROLES
    ? JSON.parse(process.env.ROLES)
    : JSON.parse(require("fs").readFileSync(0, "utf8")).map((t) => t.subscriptionId);
  console.log([...new Set(ids)].join(" "));')"
vault_principals="$(printf '%s' "${BACKUP_VAULT_PRINCIPAL_IDS:-[]}" | node -e '
  console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).join(" "));')"

for subscription in $role_subscriptions; do
  for principal in "$APP_PRINCIPAL_ID" $vault_principals; do
    ids="$(az role assignment list --subscription "$subscription" --scope "/subscriptions/$subscription" \
      --query "[?principalId=='$principal' && scope=='/subscriptions/$subscription'].id" --output tsv \
      --only-show-errors || true)"
    [ -n "$ids" ] || continue
    echo "predown: removing role assignments of $principal on subscription $subscription"
    # shellcheck disable=SC2086 # one id per word
    az role assignment delete --subscription "$subscription" --ids $ids --yes --only-show-errors ||
      echo "predown: could not remove them; remove by hand: az role assignment delete --ids $ids" >&2
  done
done

printf '%s\n' "$topics" | while read -r subscription group name origin; do
  [ -n "$subscription" ] || continue
  if [ "$origin" = "reused" ]; then
    echo "predown: removing the app's event subscription from the reused system topic $name (the topic stays)"
    az eventgrid system-topic event-subscription delete --subscription "$subscription" --resource-group "$group" \
      --system-topic-name "$name" --name pgflex-autoprotect-onResourceEvent --yes --only-show-errors ||
      echo "predown: could not remove it; remove by hand: az eventgrid system-topic event-subscription delete --subscription $subscription --resource-group $group --system-topic-name $name --name pgflex-autoprotect-onResourceEvent" >&2
  elif [ "$subscription" != "${AZURE_SUBSCRIPTION_ID:-}" ]; then
    echo "predown: deleting resource group $group in subscription $subscription"
    az group delete --subscription "$subscription" --name "$group" --yes --no-wait --only-show-errors ||
      echo "predown: could not delete $group; delete it by hand" >&2
  fi
done
