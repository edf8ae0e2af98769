#!/bin/sh
# azd predown hook: removes what `azd down` cannot see because it lives outside the app's resource group:
# the subscription-scope role assignments of the app's and the vaults' identities in every subscription in
# scope, and the "<rg>-events" resource groups holding system topics in other subscriptions. Each step
# tolerates "already gone", so the hook can run again.
set -eu

if ! command -v az >/dev/null 2>&1; then
  echo "predown: the Azure CLI (az) is required to remove subscription-scope role assignments." >&2
  exit 1
fi
if [ -z "${EVENT_GRID_TOPICS:-}" ] || [ -z "${APP_PRINCIPAL_ID:-}" ]; then
  echo "predown: nothing provisioned in this environment; skipping." >&2
  exit 0
fi

# "subscriptionId resourceGroupName" per system topic, from the EVENT_GRID_TOPICS output (JSON array).
topics="$(printf '%s' "$EVENT_GRID_TOPICS" | node -e '
  const topics = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const t of topics) console.log(`${t.subscriptionId} ${t.resourceGroupName}`);')"
vault_principals="$(printf '%s' "${BACKUP_VAULT_PRINCIPAL_IDS:-[]}" | node -e '
  console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).join(" "));')"

printf '%s\n' "$topics" | while read -r subscription group; do
  [ -n "$subscription" ] || continue
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
  if [ "$subscription" != "${AZURE_SUBSCRIPTION_ID:-}" ]; then
    echo "predown: deleting resource group $group in subscription $subscription"
    az group delete --subscription "$subscription" --name "$group" --yes --no-wait --only-show-errors ||
      echo "predown: could not delete $group; delete it by hand" >&2
  fi
done
