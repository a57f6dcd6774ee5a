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

@secure()
@description('MAILHOOK_CLIENTS: JSON array of callers [{id, keySha256, senders, defaultSender, transport, ...}]; create entries with `npx mailhook keys new`. Stored in Key Vault.')
param mailhookClients string

@description('ENTRA_TENANT_ID: the tenant of the app registration used by the graph transport and by smtp with OAuth. Empty when no client needs it.')
param entraTenantId string = ''

@description('ENTRA_CLIENT_ID: the app registration (client) id. Empty when no client needs it.')
param entraClientId string = ''

@secure()
@description('ENTRA_CLIENT_SECRET: the app registration\'s client secret. Stored in Key Vault; empty leaves it unset.')
param entraClientSecret string = ''

@description('ENTRA_AUTHORITY_HOST: the Entra sign-in host (national clouds differ).')
param entraAuthorityHost string = 'https://login.microsoftonline.com'

@description('GRAPH_ENDPOINT: the Microsoft Graph host (national clouds differ).')
param graphEndpoint string = 'https://graph.microsoft.com'

@description('SMTP_HOST: the SMTP AUTH client submission endpoint (a DNS name; never an IP address).')
param smtpHost string = 'smtp.office365.com'

@description('SMTP_PORT: 587 with STARTTLS (465 is not supported by Microsoft 365).')
param smtpPort int = 587

@allowed(['oauth2', 'basic'])
@description('SMTP_AUTH: oauth2 (XOAUTH2 with SMTP.SendAsApp) or basic (mailbox passwords; disabled by default from the end of 2026).')
param smtpAuth string = 'oauth2'

@secure()
@description('SMTP_PASSWORDS: JSON {mailbox: password} for SMTP_AUTH=basic. Stored in Key Vault; empty leaves it unset.')
param smtpPasswords string = ''

@description('MX_ENDPOINT: the tenant\'s MX endpoint for direct and relay, e.g. contoso-com.mail.protection.outlook.com. Empty when unused.')
param mxEndpoint string = ''

@description('ACCEPTED_DOMAINS: comma-separated accepted domains of the tenant; required when a client uses direct or relay.')
param acceptedDomains string = ''

@description('MAILBOX_MESSAGES_PER_MINUTE: Exchange Online allows 30 messages per minute per mailbox.')
param mailboxMessagesPerMinute int = 30

@description('MAILBOX_RECIPIENTS_PER_DAY: Exchange Online allows 10,000 recipients per rolling 24 hours per mailbox.')
param mailboxRecipientsPerDay int = 10000

@description('MAX_RECIPIENTS_PER_MESSAGE: Exchange Online\'s default is 500 (tenant-configurable 1-1000).')
param maxRecipientsPerMessage int = 500

@description('MAX_MESSAGE_BYTES: Exchange Online\'s default message size limit is 35 MB.')
param maxMessageBytes int = 36700160

@description('MAILBOX_CONCURRENCY: sends in flight per mailbox at once (Exchange Online: 3 SMTP connections, about 4 Graph requests); empty keeps the app\'s default.')
param mailboxConcurrency string = ''

@description('MAILBOX_LIMITS: JSON {mailbox: {messagesPerMinute?, recipientsPerDay?, concurrency?}} overriding the limits per mailbox; empty for none.')
param mailboxLimits string = ''

@description('Route outbound traffic through a VNet and NAT gateway with one static public IP (Direct Send SPF records and IP-based relay connectors need one).')
param enableStaticOutboundIp bool = false

@description('Largest number of instances the Flex Consumption plan may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

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
    smtpPasswords: smtpPasswords
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
    keyVaultName: vault.outputs.name
    secretNames: vault.outputs.secretNames
    subnetId: enableStaticOutboundIp ? network!.outputs.subnetId : ''
    maximumInstanceCount: maximumInstanceCount
    settings: {
      entraTenantId: entraTenantId
      entraClientId: entraClientId
      entraAuthorityHost: entraAuthorityHost
      graphEndpoint: graphEndpoint
      smtpHost: smtpHost
      smtpPort: smtpPort
      smtpAuth: smtpAuth
      mxEndpoint: mxEndpoint
      acceptedDomains: acceptedDomains
      mailboxMessagesPerMinute: mailboxMessagesPerMinute
      mailboxRecipientsPerDay: mailboxRecipientsPerDay
      maxRecipientsPerMessage: maxRecipientsPerMessage
      maxMessageBytes: maxMessageBytes
      mailboxConcurrency: mailboxConcurrency
      mailboxLimits: mailboxLimits
    }
  }
}

var staticIp = enableStaticOutboundIp ? network!.outputs.publicIpAddress : ''

@description('The API base URL: POST {url}/v1/messages.')
output MAILHOOK_URL string = 'https://${functionApp.outputs.defaultHostName}/api'

@description('The Function App name (for the connector host and the portal).')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('The Key Vault holding MAILHOOK_CLIENTS and the transport secrets.')
output AZURE_KEY_VAULT_NAME string = vault.outputs.name

@description('The static outbound IP, when enableStaticOutboundIp is true: name it in an IP-based relay connector.')
output STATIC_OUTBOUND_IP string = staticIp

@description('The SPF TXT record to publish on each sending domain (Microsoft: v=spf1 ip4:<static IP> include:spf.protection.outlook.com ~all).')
output SPF_RECORD string = enableStaticOutboundIp ? 'v=spf1 ip4:${staticIp} include:spf.protection.outlook.com ~all' : 'v=spf1 include:spf.protection.outlook.com ~all'
