# azd postdeploy hook (PowerShell; postdeploy.sh does the same on Linux and macOS).
# The identity's Key Vault role is assigned minutes before the app first resolves its Key Vault references; if
# that first attempt fails, the app sees the text "@Microsoft.KeyVault(...)" and the platform retries only every
# 24 hours, on a configuration change or on restart. So: force the references to be resolved, wait until every
# one is, and restart the app so its processes start with the values.
# (Microsoft Learn, "Use Key Vault references as app settings", rotation and troubleshooting:
# https://learn.microsoft.com/azure/app-service/app-service-key-vault-references#rotation)
# MAILHOOK_REFRESH_ATTEMPTS and MAILHOOK_REFRESH_POLL_SECONDS set how long to wait (default 20 x 15 s).
$ErrorActionPreference = 'Stop'

foreach ($name in 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_FUNCTION_APP_NAME', 'MAILHOOK_URL') {
  if (-not [Environment]::GetEnvironmentVariable($name)) {
    [Console]::Error.WriteLine("$name is not in the azd environment; run azd provision first.")
    exit 1
  }
}
$site = "https://management.azure.com/subscriptions/$env:AZURE_SUBSCRIPTION_ID/resourceGroups/$env:AZURE_RESOURCE_GROUP/providers/Microsoft.Web/sites/$env:AZURE_FUNCTION_APP_NAME"
$references = "$site/config/configreferences/appsettings"
$api = 'api-version=2022-03-01'
$attempts = if ($env:MAILHOOK_REFRESH_ATTEMPTS) { [int]$env:MAILHOOK_REFRESH_ATTEMPTS } else { 20 }
$pollSeconds = if ($env:MAILHOOK_REFRESH_POLL_SECONDS) { [int]$env:MAILHOOK_REFRESH_POLL_SECONDS } else { 15 }

if (Get-Command az -ErrorAction SilentlyContinue) {
  for ($attempt = 1; ; $attempt++) {
    az rest --method post --url "$references/refresh?$api" --output none
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    # ${references}: in PowerShell a "?" may continue a variable name.
    $pending = az rest --method get --url "${references}?$api" `
      --query "value[?properties.status!='Resolved'].[name, properties.status]" --output tsv
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
    if (-not $pending) { break }
    if ($attempt -ge $attempts) {
      [Console]::Error.WriteLine('These Key Vault references are still unresolved (setting, status):')
      [Console]::Error.WriteLine(($pending -join "`n"))
      [Console]::Error.WriteLine('Check that the identity holds Key Vault Secrets User on the vault, then run: azd hooks run postdeploy')
      exit 1
    }
    Write-Host "Waiting for Key Vault references to resolve ($attempt/$attempts): $($pending -join ' ')"
    Start-Sleep -Seconds $pollSeconds
  }
  Write-Host "Key Vault references resolved; restarting $env:AZURE_FUNCTION_APP_NAME so it starts with them."
  az functionapp restart --name $env:AZURE_FUNCTION_APP_NAME --resource-group $env:AZURE_RESOURCE_GROUP `
    --subscription $env:AZURE_SUBSCRIPTION_ID
  if ($LASTEXITCODE -ne 0) {
    [Console]::Error.WriteLine('WARNING: the restart failed; restart the app in the portal if the first request fails.')
  }
} else {
  [Console]::Error.WriteLine('WARNING: the Azure CLI (az) is not installed, so the Key Vault references were not refreshed. Run:')
  [Console]::Error.WriteLine("  az rest --method post --url `"$references/refresh?$api`"")
}

Write-Host @"

mailhook is deployed: $env:MAILHOOK_URL
Check it end to end (doctor reads this azd environment; then send one message with a client's key):
  npx mailhook doctor --env-file .azure/$env:AZURE_ENV_NAME/.env
  `$env:MAILHOOK_URL='$env:MAILHOOK_URL'; `$env:MAILHOOK_KEY='<key>'; npx mailhook send --to <your address> --subject "mailhook test" --text "It works." --wait
"@

$clients = @()
try {
  $clients = ConvertFrom-Json -InputObject "$env:MAILHOOK_CLIENTS" -NoEnumerate
} catch {
  # preprovision checked it; nothing to add here.
}
if ($clients | Where-Object { $_.transport -in @('direct', 'relay') }) {
  Write-Host @'

NOTE: direct and relay connect to the MX endpoint on TCP port 25, which Azure blocks for most subscription
types (Enterprise Agreement and MCA-E excepted); a NAT gateway does not lift the block. Unless this
subscription is one of those, their messages will fail with a connection timeout. Use smtp (port 587), graph
or hve from Azure; for Direct Send, send from your own network, where port 25 is open.
https://learn.microsoft.com/azure/virtual-network/troubleshoot-outbound-smtp-connectivity
'@
}
