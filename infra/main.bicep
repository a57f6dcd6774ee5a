// mailhook on Azure: `azd up` deploys this (see azure.yaml at the repository root).
// Function App on the Flex Consumption plan (Node 22), Storage reached only with Entra ID (no shared keys),
// a user-assigned managed identity with least-privilege roles, Key Vault for the client registry and the
// transport secrets, Application Insights, and optionally a VNet + NAT gateway for a static outbound IP.
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('Name of the azd environment; names and tags every resource.')
param environmentName string

@minLength(1)
@description('Azure region for every resource; must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
param location string

// Every parameter is filled by main.bicepparam from the azd environment (`azd env set NAME value`), one
// readEnvironmentVariable() per parameter, so a value is passed as it is: a JSON array with quotes stays intact.

// Secrets: stored in Key Vault and referenced from app settings (never in the site configuration).

@secure()
@minLength(2)
@description('MAILHOOK_CLIENTS: JSON array of callers [{id, keySha256, senders, defaultSender, transport, ...}]; create entries with `npx mailhook keys new`. Stored in Key Vault.')
param mailhookClients string

@secure()
@description('ENTRA_CLIENT_SECRET: the app registration\'s client secret. Stored in Key Vault; empty leaves it unset.')
param entraClientSecret string = ''

@secure()
@description('ENTRA_CLIENT_CERTIFICATE: the app registration\'s certificate and RSA private key as PEM (or base64 of the PEM), instead of a secret. Stored in Key Vault; empty leaves it unset.')
param entraClientCertificate string = ''

@secure()
@description('SMTP_PASSWORDS: JSON {mailbox: password} for SMTP_AUTH=basic. Stored in Key Vault; empty leaves it unset.')
param smtpPasswords string = ''

@secure()
@description('HVE_PASSWORDS: JSON {hve account: password} for HVE accounts that sign in with a password (the others use OAuth). Stored in Key Vault; empty leaves it unset.')
param hvePasswords string = ''

@secure()
@description('RELAY_CLIENT_CERTIFICATE: the certificate and private key (PEM, or base64 of it) a certificate-based relay connector trusts. Stored in Key Vault; empty leaves it unset.')
param relayClientCertificate string = ''

// Plain settings: empty means "unset" to the app, which then uses its own default.

@description('ENTRA_TENANT_ID: the tenant of the app registration used by the graph transport and by smtp with OAuth. Empty when no client needs it.')
param entraTenantId string = ''

@description('ENTRA_CLIENT_ID: the app registration (client) id. Empty when no client needs it.')
param entraClientId string = ''

@description('ENTRA_AUTHORITY_HOST: the Entra sign-in host (national clouds differ, e.g. https://login.microsoftonline.us).')
param entraAuthorityHost string = 'https://login.microsoftonline.com'

@description('GRAPH_ENDPOINT: the Microsoft Graph host (national clouds differ, e.g. https://graph.microsoft.us).')
param graphEndpoint string = 'https://graph.microsoft.com'

@description('SMTP_HOST: the SMTP AUTH client submission endpoint (a DNS name; never an IP address).')
param smtpHost string = 'smtp.office365.com'

@minValue(1)
@maxValue(65535)
@description('SMTP_PORT: 587 with STARTTLS (465 is not supported by Microsoft 365).')
param smtpPort int = 587

@allowed(['oauth2', 'basic'])
@description('SMTP_AUTH: oauth2 (XOAUTH2 with SMTP.SendAsApp) or basic (mailbox passwords; disabled by default from the end of 2026).')
param smtpAuth string = 'oauth2'

@description('MX_ENDPOINT: the tenant\'s MX endpoint for direct and relay, e.g. contoso-com.mail.protection.outlook.com. Empty when unused. Azure blocks outbound TCP 25 for most subscription types: see docs/deployment.md.')
param mxEndpoint string = ''

@description('ACCEPTED_DOMAINS: comma-separated accepted domains of the tenant; required when a client uses direct, relay or hve; also tells internal from external recipients for the tenant external recipient limit.')
param acceptedDomains string = ''

@description('HVE_HOST: the High Volume Email SMTP endpoint (smtp.hve.mx.microsoft; the older smtp-hve.office365.com is being retired).')
param hveHost string = 'smtp.hve.mx.microsoft'

@minValue(1)
@maxValue(65535)
@description('HVE_PORT: 587 with STARTTLS.')
param hvePort int = 587

@minValue(1)
@description('HVE_MESSAGES_PER_MINUTE: messages per minute per HVE account. Microsoft publishes no HVE message rate; 60 is a safe guess (docs/hve.md).')
param hveMessagesPerMinute int = 60

@minValue(1)
@description('HVE_RECIPIENTS_PER_DAY: recipients per rolling 24 hours per HVE account; 100,000 is what the HVE preview allowed per tenant.')
param hveRecipientsPerDay int = 100000

@minValue(1)
@description('HVE_RECIPIENTS_PER_MESSAGE: recipients per HVE message (summaries of Microsoft\'s HVE page give 50).')
param hveRecipientsPerMessage int = 50

@minValue(1)
@description('HVE_MAX_MESSAGE_BYTES: the largest HVE message (summaries of Microsoft\'s HVE page give 10 MB).')
param hveMaxMessageBytes int = 10485760

@minValue(1)
@description('HVE_CONCURRENCY: connections per HVE account at once (none published; 3 as for SMTP AUTH).')
param hveConcurrency int = 3

@description('TENANT_EXTERNAL_PROBE_MINUTES: while the tenant is over its external recipient limit (550 5.7.233), how often one waiting message tries again (minutes, decimals allowed).')
param tenantExternalProbeMinutes string = '30'

@minValue(1)
@description('GRAPH_UPLOAD_MB_PER_5_MINUTES: Graph allows 150 MB uploaded per 5 minutes per app and mailbox.')
param graphUploadMbPer5Minutes int = 150

@minValue(1)
@description('MAILBOX_MESSAGES_PER_MINUTE: Exchange Online allows 30 messages per minute per mailbox.')
param mailboxMessagesPerMinute int = 30

@minValue(1)
@description('MAILBOX_RECIPIENTS_PER_DAY: Exchange Online allows 10,000 recipients per rolling 24 hours per mailbox.')
param mailboxRecipientsPerDay int = 10000

@minValue(1)
@description('MAX_RECIPIENTS_PER_MESSAGE: Exchange Online\'s default is 500 (tenant-configurable 1-1000).')
param maxRecipientsPerMessage int = 500

@minValue(1)
@description('MAX_MESSAGE_BYTES: Exchange Online\'s default message size limit is 35 MB.')
param maxMessageBytes int = 36700160

@minValue(1)
@description('MAILBOX_MESSAGE_WINDOW_SECONDS: the rolling window MAILBOX_MESSAGES_PER_MINUTE counts in (Exchange Online: 60 s).')
param mailboxMessageWindowSeconds int = 60

@description('MAILBOX_CONCURRENCY: sends in flight per mailbox at once (Exchange Online: 3 SMTP connections, about 4 Graph requests); empty keeps the app\'s per-transport default.')
param mailboxConcurrency string = ''

@description('MAILBOX_LIMITS: JSON {mailbox: {messagesPerMinute?, recipientsPerDay?, concurrency?}} overriding the limits per mailbox; empty for none.')
param mailboxLimits string = ''

@description('PACING_SAFETY_MARGIN_PERCENT: percentage (0-90, decimals allowed) taken off the limits, for mailboxes that also send elsewhere.')
param pacingSafetyMarginPercent string = '0'

@minValue(0)
@description('PACING_CLOCK_SKEW_MS: largest clock difference between two instances; every pacing window is lengthened by it.')
param pacingClockSkewMs int = 1000

@minValue(1)
@description('PACING_LEASE_SECONDS: how long a send slot whose dispatcher never reported back (a crash) stays in flight.')
param pacingLeaseSeconds int = 300

// A string, not a bool: the app reads exactly 'true' or 'false', whatever casing a conversion would give.
@allowed(['true', 'false'])
@description('PACING_SMOOTH: true spaces each mailbox\'s sends evenly (one per window / limit) instead of using the whole rolling window at once.')
param pacingSmooth string = 'false'

@minValue(1)
@description('STATUS_RETENTION_DAYS: days a final status record (sent, failed, cancelled) is kept after its last change.')
param statusRetentionDays int = 30

@minValue(1)
@description('FAILED_MESSAGE_RETENTION_DAYS: days the content of a failed message is kept so it can be retried.')
param failedMessageRetentionDays int = 7

// The deployment itself.

@description('Route outbound traffic through a VNet and NAT gateway with one static public IP (Direct Send SPF records and IP-based relay connectors need one). It does not lift Azure\'s block of outbound TCP 25.')
param enableStaticOutboundIp bool = false

@description('Largest number of instances the Flex Consumption plan may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each instance in MB (Flex Consumption: 512, 2048 or 4096).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-mailhook-${token}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: 'log-mailhook-${token}'
    appInsightsName: 'appi-mailhook-${token}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stmailhook${take(token, 14)}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    // A failed message's blob must outlive its retention; the queue may hold a message up to 7 days first.
    messageBlobRetentionDays: failedMessageRetentionDays + 8
  }
}

module vault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-mailhook-${take(token, 12)}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    mailhookClients: mailhookClients
    entraClientSecret: entraClientSecret
    entraClientCertificate: entraClientCertificate
    smtpPasswords: smtpPasswords
    hvePasswords: hvePasswords
    relayClientCertificate: relayClientCertificate
  }
}

module network 'modules/network.bicep' = if (enableStaticOutboundIp) {
  name: 'network'
  scope: rg
  params: {
    name: 'mailhook-${token}'
    location: location
    tags: tags
  }
}

var keyVaultReference = '@Microsoft.KeyVault(VaultName=${vault.outputs.name};SecretName='
var secretNames = vault.outputs.secretNames

// app-settings:begin (read by test/unit/infra-settings.test.ts: one "NAME: value" per line)
// shared/config.ts reads these; an empty value counts as unset there. Numbers go in as their decimal text.
var mailhookSettings = {
  ENTRA_TENANT_ID: entraTenantId
  ENTRA_CLIENT_ID: entraClientId
  ENTRA_AUTHORITY_HOST: entraAuthorityHost
  GRAPH_ENDPOINT: graphEndpoint
  SMTP_HOST: smtpHost
  SMTP_PORT: string(smtpPort)
  SMTP_AUTH: smtpAuth
  MX_ENDPOINT: mxEndpoint
  ACCEPTED_DOMAINS: acceptedDomains
  MAILBOX_MESSAGES_PER_MINUTE: string(mailboxMessagesPerMinute)
  MAILBOX_RECIPIENTS_PER_DAY: string(mailboxRecipientsPerDay)
  MAX_RECIPIENTS_PER_MESSAGE: string(maxRecipientsPerMessage)
  MAX_MESSAGE_BYTES: string(maxMessageBytes)
  MAILBOX_MESSAGE_WINDOW_SECONDS: string(mailboxMessageWindowSeconds)
  MAILBOX_CONCURRENCY: mailboxConcurrency
  MAILBOX_LIMITS: mailboxLimits
  PACING_SAFETY_MARGIN_PERCENT: pacingSafetyMarginPercent
  PACING_CLOCK_SKEW_MS: string(pacingClockSkewMs)
  PACING_LEASE_SECONDS: string(pacingLeaseSeconds)
  PACING_SMOOTH: pacingSmooth
  STATUS_RETENTION_DAYS: string(statusRetentionDays)
  FAILED_MESSAGE_RETENTION_DAYS: string(failedMessageRetentionDays)
  HVE_HOST: hveHost
  HVE_PORT: string(hvePort)
  HVE_MESSAGES_PER_MINUTE: string(hveMessagesPerMinute)
  HVE_RECIPIENTS_PER_DAY: string(hveRecipientsPerDay)
  HVE_RECIPIENTS_PER_MESSAGE: string(hveRecipientsPerMessage)
  HVE_MAX_MESSAGE_BYTES: string(hveMaxMessageBytes)
  HVE_CONCURRENCY: string(hveConcurrency)
  TENANT_EXTERNAL_PROBE_MINUTES: tenantExternalProbeMinutes
  GRAPH_UPLOAD_MB_PER_5_MINUTES: string(graphUploadMbPer5Minutes)
}

// Secrets only when given: a reference to a missing secret would reach the app as literal text.
var clientsSetting = {
  MAILHOOK_CLIENTS: '${keyVaultReference}${secretNames.MAILHOOK_CLIENTS})'
}
var entraSecretSetting = empty(secretNames.ENTRA_CLIENT_SECRET) ? {} : {
  ENTRA_CLIENT_SECRET: '${keyVaultReference}${secretNames.ENTRA_CLIENT_SECRET})'
}
var entraCertificateSetting = empty(secretNames.ENTRA_CLIENT_CERTIFICATE) ? {} : {
  ENTRA_CLIENT_CERTIFICATE: '${keyVaultReference}${secretNames.ENTRA_CLIENT_CERTIFICATE})'
}
var smtpPasswordsSetting = empty(secretNames.SMTP_PASSWORDS) ? {} : {
  SMTP_PASSWORDS: '${keyVaultReference}${secretNames.SMTP_PASSWORDS})'
}
var hvePasswordsSetting = empty(secretNames.HVE_PASSWORDS) ? {} : {
  HVE_PASSWORDS: '${keyVaultReference}${secretNames.HVE_PASSWORDS})'
}
var relayCertificateSetting = empty(secretNames.RELAY_CLIENT_CERTIFICATE) ? {} : {
  RELAY_CLIENT_CERTIFICATE: '${keyVaultReference}${secretNames.RELAY_CLIENT_CERTIFICATE})'
}
var secretSettings = union(clientsSetting, entraSecretSetting, entraCertificateSetting, smtpPasswordsSetting, hvePasswordsSetting, relayCertificateSetting)
// app-settings:end

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    name: 'func-mailhook-${token}'
    planName: 'plan-mailhook-${token}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.connectionString
    subnetId: enableStaticOutboundIp ? network!.outputs.subnetId : ''
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: union(mailhookSettings, secretSettings)
  }
}

var staticIp = enableStaticOutboundIp ? network!.outputs.publicIpAddress : ''

@description('The API base URL: POST {url}/v1/messages.')
output MAILHOOK_URL string = 'https://${functionApp.outputs.defaultHostName}/api'

@description('The Function App name (for the connector host, the portal and the postdeploy hook).')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('The resource group holding everything (the hooks address the Function App through it).')
output AZURE_RESOURCE_GROUP string = rg.name

@description('The Key Vault holding MAILHOOK_CLIENTS and the transport secrets.')
output AZURE_KEY_VAULT_NAME string = vault.outputs.name

@description('The static outbound IP, when enableStaticOutboundIp is true: name it in an IP-based relay connector.')
output STATIC_OUTBOUND_IP string = staticIp

@description('The SPF TXT record to publish on each sending domain (Microsoft: v=spf1 ip4:<static IP> include:spf.protection.outlook.com ~all).')
output SPF_RECORD string = enableStaticOutboundIp ? 'v=spf1 ip4:${staticIp} include:spf.protection.outlook.com ~all' : 'v=spf1 include:spf.protection.outlook.com ~all'
