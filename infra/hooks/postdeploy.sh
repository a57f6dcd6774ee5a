#!/bin/sh
# azd postdeploy hook (POSIX shell; postdeploy.ps1 does the same on Windows).
# The identity's Key Vault role is assigned minutes before the app first resolves its Key Vault references; if
# that first attempt fails, the app sees the text "@Microsoft.KeyVault(...)" and the platform retries only every
# 24 hours, on a configuration change or on restart. So: force the references to be resolved, wait until every
# one is, and restart the app so its processes start with the values.
# (Microsoft Learn, "Use Key Vault references as app settings", rotation and troubleshooting:
# https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#rotation)
# MAILHOOK_REFRESH_ATTEMPTS and MAILHOOK_REFRESH_POLL_SECONDS set how long to wait (default 20 x 15 s).
set -eu

for name in AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME MAILHOOK_URL; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "$name is not in the azd environment; run azd provision first." >&2
    exit 1
  fi
done
site="https://management.azure.com/subscriptions/$AZURE_SUBSCRIPTION_ID/resourceGroups/$AZURE_RESOURCE_GROUP/providers/Microsoft.Web/sites/$AZURE_FUNCTION_APP_NAME"
references="$site/config/configreferences/appsettings"
api="api-version=2022-03-01"
attempts="${MAILHOOK_REFRESH_ATTEMPTS:-20}"
poll_seconds="${MAILHOOK_REFRESH_POLL_SECONDS:-15}"

if command -v az >/dev/null 2>&1; then
  attempt=1
  while :; do
    az rest --method post --url "$references/refresh?$api" --output none
    pending=$(az rest --method get --url "$references?$api" \
      --query "value[?properties.status!='Resolved'].[name, properties.status]" --output tsv)
    [ -z "$pending" ] && break
    if [ "$attempt" -ge "$attempts" ]; then
      echo "These Key Vault references are still unresolved (setting, status):" >&2
      echo "$pending" >&2
      echo "Check that the identity holds Key Vault Secrets User on the vault, then run: azd hooks run postdeploy" >&2
      exit 1
    fi
    echo "Waiting for Key Vault references to resolve ($attempt/$attempts): $(echo "$pending" | tr '\t\n' ': ')"
    attempt=$((attempt + 1))
    sleep "$poll_seconds"
  done
  echo "Key Vault references resolved; restarting $AZURE_FUNCTION_APP_NAME so it starts with them."
  az functionapp restart --name "$AZURE_FUNCTION_APP_NAME" --resource-group "$AZURE_RESOURCE_GROUP" \
    --subscription "$AZURE_SUBSCRIPTION_ID" ||
    echo "WARNING: the restart failed; restart the app in the portal if the first request fails." >&2
else
  echo "WARNING: the Azure CLI (az) is not installed, so the Key Vault references were not refreshed. Run:" >&2
  echo "  az rest --method post --url \"$references/refresh?$api\"" >&2
fi

cat <<TEXT

mailhook is deployed: $MAILHOOK_URL
Check it end to end (doctor reads this azd environment; then send one message with a client's key):
  npx mailhook doctor --env-file .azure/$AZURE_ENV_NAME/.env
  MAILHOOK_URL=$MAILHOOK_URL MAILHOOK_KEY=<key> npx mailhook send --to <your address> --subject "mailhook test" --text "It works." --wait
TEXT

if printf '%s' "${MAILHOOK_CLIENTS:-}" | grep -Eq '"transport"[[:space:]]*:[[:space:]]*"(direct|relay)"'; then
  cat <<'TEXT'

NOTE: direct and relay connect to the MX endpoint on TCP port 25, which Azure blocks for most subscription
types (Enterprise Agreement and MCA-E excepted); a NAT gateway does not lift the block. Unless this
subscription is one of those, their messages will fail with a connection timeout. Use smtp (port 587), graph
or hve from Azure; for Direct Send, send from your own network, where port 25 is open.
https://learn.microsoft.com/azure/virtual-network/troubleshoot-outbound-smtp-connectivity
TEXT
fi
