#!/bin/sh
# azd preprovision hook (POSIX shell; preprovision.ps1 does the same on Windows). Before anything is created:
# 1. MAILHOOK_CLIENTS must be a JSON array: Bicep stores it in Key Vault and the app does not start without it.
# 2. A client on direct or relay needs outbound TCP 25, which Azure blocks for most subscription types.
# 3. With the static outbound IP (MAILHOOK_STATIC_OUTBOUND_IP=true) the Function App's subnet is delegated to
#    Microsoft.App/environments, so the Microsoft.App resource provider must be registered in the subscription.
set -eu

if [ -z "${MAILHOOK_CLIENTS:-}" ]; then
  cat >&2 <<'TEXT'
MAILHOOK_CLIENTS is not set in this azd environment. Make a client and set the array, for example:
  npx mailhook keys new --client-id scanners --sender scan@contoso.com --transport graph
  azd env set MAILHOOK_CLIENTS '[{"id":"scanners","keySha256":"...","senders":["scan@contoso.com"],"transport":"graph"}]'
TEXT
  exit 1
fi
if ! printf '%s' "$MAILHOOK_CLIENTS" |
  node -e 'if (!Array.isArray(JSON.parse(require("fs").readFileSync(0, "utf8")))) process.exit(1)' 2>/dev/null; then
  echo "MAILHOOK_CLIENTS is not a JSON array of clients; see docs/deployment.md." >&2
  exit 1
fi

if printf '%s' "$MAILHOOK_CLIENTS" | grep -Eq '"transport"[[:space:]]*:[[:space:]]*"(direct|relay)"'; then
  cat <<'TEXT'
NOTE: a client uses direct or relay, which connect to the MX endpoint on TCP port 25. Azure blocks outbound
port 25 for most subscription types (Enterprise Agreement and MCA-E excepted), and a NAT gateway does not
lift the block: https://learn.microsoft.com/azure/virtual-network/troubleshoot-outbound-smtp-connectivity
From Azure, use smtp (SMTP AUTH on port 587), graph or hve instead; for Direct Send, send from your own
network, where port 25 is open. `npx mailhook doctor` reports a blocked port 25 as "blocked by the platform".
TEXT
fi

static_ip=$(printf '%s' "${MAILHOOK_STATIC_OUTBOUND_IP:-false}" | tr '[:upper:]' '[:lower:]')
if [ "$static_ip" = "true" ]; then
  if ! command -v az >/dev/null 2>&1; then
    echo "The static outbound IP needs the Microsoft.App resource provider; install the Azure CLI, or run:" >&2
    echo "  az provider register --namespace Microsoft.App --subscription $AZURE_SUBSCRIPTION_ID --wait" >&2
    exit 1
  fi
  state=$(az provider show --namespace Microsoft.App --subscription "$AZURE_SUBSCRIPTION_ID" \
    --query registrationState --output tsv)
  if [ "$state" != "Registered" ]; then
    echo "Registering the Microsoft.App resource provider (it was $state); this can take a few minutes."
    az provider register --namespace Microsoft.App --subscription "$AZURE_SUBSCRIPTION_ID" --wait
  fi
  echo "Microsoft.App is registered: the NAT gateway's static IP can be attached to the Function App's subnet."
fi
