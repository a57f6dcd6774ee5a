# azd preprovision hook (PowerShell; preprovision.sh does the same on Linux and macOS). Before anything is created:
# 1. MAILHOOK_CLIENTS must be a JSON array: Bicep stores it in Key Vault and the app does not start without it.
# 2. A client on direct or relay needs outbound TCP 25, which Azure blocks for most subscription types.
# 3. With the static outbound IP (MAILHOOK_STATIC_OUTBOUND_IP=true) the Function App's subnet is delegated to
#    Microsoft.App/environments, so the Microsoft.App resource provider must be registered in the subscription.
$ErrorActionPreference = 'Stop'

if (-not $env:MAILHOOK_CLIENTS) {
  [Console]::Error.WriteLine(@'
MAILHOOK_CLIENTS is not set in this azd environment. Make a client and set the array, for example:
  npx mailhook keys new --client-id scanners --sender scan@contoso.com --transport graph
  azd env set MAILHOOK_CLIENTS '[{"id":"scanners","keySha256":"...","senders":["scan@contoso.com"],"transport":"graph"}]'
'@)
  exit 1
}
try {
  $clients = ConvertFrom-Json -InputObject $env:MAILHOOK_CLIENTS -NoEnumerate
} catch {
  $clients = $null
}
if ($clients -isnot [array]) {
  [Console]::Error.WriteLine('MAILHOOK_CLIENTS is not a JSON array of clients; see docs/deployment.md.')
  exit 1
}

if ($clients | Where-Object { $_.transport -in @('direct', 'relay') }) {
  Write-Host @'
NOTE: a client uses direct or relay, which connect to the MX endpoint on TCP port 25. Azure blocks outbound
port 25 for most subscription types (Enterprise Agreement and MCA-E excepted), and a NAT gateway does not
lift the block: https://learn.microsoft.com/azure/virtual-network/troubleshoot-outbound-smtp-connectivity
From Azure, use smtp (SMTP AUTH on port 587), graph or hve instead; for Direct Send, send from your own
network, where port 25 is open. `npx mailhook doctor` reports a blocked port 25 as "blocked by the platform".
'@
}

if ("$env:MAILHOOK_STATIC_OUTBOUND_IP" -ieq 'true') {
  if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    [Console]::Error.WriteLine('The static outbound IP needs the Microsoft.App resource provider; install the Azure CLI, or run:')
    [Console]::Error.WriteLine("  az provider register --namespace Microsoft.App --subscription $env:AZURE_SUBSCRIPTION_ID --wait")
    exit 1
  }
  $state = az provider show --namespace Microsoft.App --subscription $env:AZURE_SUBSCRIPTION_ID --query registrationState --output tsv
  if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
  if ($state -ne 'Registered') {
    Write-Host "Registering the Microsoft.App resource provider (it was $state); this can take a few minutes."
    az provider register --namespace Microsoft.App --subscription $env:AZURE_SUBSCRIPTION_ID --wait
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
  }
  Write-Host "Microsoft.App is registered: the NAT gateway's static IP can be attached to the Function App's subnet."
}
