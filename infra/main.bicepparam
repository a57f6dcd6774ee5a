// The parameters of main.bicep, each read from the azd environment (`azd env set NAME value`; azd hands its
// environment to Bicep when it compiles this file). readEnvironmentVariable() passes a value as it is, so a
// JSON array with quotes (MAILHOOK_CLIENTS) reaches Bicep intact, which a main.parameters.json with
// "${NAME}" cannot promise (azd pastes the raw value into the JSON text there; azure-dev issue #5507).
// Numbers and switches are converted with int() and bool(); an unset optional setting is the empty string,
// which the app treats as unset. The defaults here are main.bicep's and the app's (test/unit/infra-settings.test.ts).
// https://learn.microsoft.com/azure/azure-resource-manager/bicep/bicep-functions-parameters-file#readenvironmentvariable
using 'main.bicep'

// Set by azd for every environment.
param environmentName = readEnvironmentVariable('AZURE_ENV_NAME')
param location = readEnvironmentVariable('AZURE_LOCATION')

// Secrets (stored in Key Vault). MAILHOOK_CLIENTS is required; the preprovision hook says how to make it.
param mailhookClients = readEnvironmentVariable('MAILHOOK_CLIENTS', '')
param entraClientSecret = readEnvironmentVariable('ENTRA_CLIENT_SECRET', '')
param entraClientCertificate = readEnvironmentVariable('ENTRA_CLIENT_CERTIFICATE', '')
param smtpPasswords = readEnvironmentVariable('SMTP_PASSWORDS', '')
param hvePasswords = readEnvironmentVariable('HVE_PASSWORDS', '')
param relayClientCertificate = readEnvironmentVariable('RELAY_CLIENT_CERTIFICATE', '')

// Microsoft Entra ID and Microsoft Graph (national clouds use other hosts).
param entraTenantId = readEnvironmentVariable('ENTRA_TENANT_ID', '')
param entraClientId = readEnvironmentVariable('ENTRA_CLIENT_ID', '')
param entraAuthorityHost = readEnvironmentVariable('ENTRA_AUTHORITY_HOST', 'https://login.microsoftonline.com')
param graphEndpoint = readEnvironmentVariable('GRAPH_ENDPOINT', 'https://graph.microsoft.com')

// SMTP AUTH submission, Direct Send and relay.
param smtpHost = readEnvironmentVariable('SMTP_HOST', 'smtp.office365.com')
param smtpPort = int(readEnvironmentVariable('SMTP_PORT', '587'))
param smtpAuth = readEnvironmentVariable('SMTP_AUTH', 'oauth2')
param mxEndpoint = readEnvironmentVariable('MX_ENDPOINT', '')
param acceptedDomains = readEnvironmentVariable('ACCEPTED_DOMAINS', '')

// High Volume Email (docs/hve.md: each default and where it comes from).
param hveHost = readEnvironmentVariable('HVE_HOST', 'smtp.hve.mx.microsoft')
param hvePort = int(readEnvironmentVariable('HVE_PORT', '587'))
param hveMessagesPerMinute = int(readEnvironmentVariable('HVE_MESSAGES_PER_MINUTE', '60'))
param hveRecipientsPerDay = int(readEnvironmentVariable('HVE_RECIPIENTS_PER_DAY', '100000'))
param hveRecipientsPerMessage = int(readEnvironmentVariable('HVE_RECIPIENTS_PER_MESSAGE', '50'))
param hveMaxMessageBytes = int(readEnvironmentVariable('HVE_MAX_MESSAGE_BYTES', '10485760'))
param hveConcurrency = int(readEnvironmentVariable('HVE_CONCURRENCY', '3'))

// Tenant-wide limits (docs/tenant-limits.md).
param tenantExternalProbeMinutes = readEnvironmentVariable('TENANT_EXTERNAL_PROBE_MINUTES', '30')
param graphUploadMbPer5Minutes = int(readEnvironmentVariable('GRAPH_UPLOAD_MB_PER_5_MINUTES', '150'))

// Limits and pacing (Exchange Online's defaults).
param mailboxMessagesPerMinute = int(readEnvironmentVariable('MAILBOX_MESSAGES_PER_MINUTE', '30'))
param mailboxRecipientsPerDay = int(readEnvironmentVariable('MAILBOX_RECIPIENTS_PER_DAY', '10000'))
param maxRecipientsPerMessage = int(readEnvironmentVariable('MAX_RECIPIENTS_PER_MESSAGE', '500'))
param maxMessageBytes = int(readEnvironmentVariable('MAX_MESSAGE_BYTES', '36700160'))
param mailboxMessageWindowSeconds = int(readEnvironmentVariable('MAILBOX_MESSAGE_WINDOW_SECONDS', '60'))
param mailboxConcurrency = readEnvironmentVariable('MAILBOX_CONCURRENCY', '')
param mailboxLimits = readEnvironmentVariable('MAILBOX_LIMITS', '')
param pacingSafetyMarginPercent = readEnvironmentVariable('PACING_SAFETY_MARGIN_PERCENT', '0')
param pacingClockSkewMs = int(readEnvironmentVariable('PACING_CLOCK_SKEW_MS', '1000'))
param pacingLeaseSeconds = int(readEnvironmentVariable('PACING_LEASE_SECONDS', '300'))
param pacingSmooth = readEnvironmentVariable('PACING_SMOOTH', 'false')

// Retention.
param statusRetentionDays = int(readEnvironmentVariable('STATUS_RETENTION_DAYS', '30'))
param failedMessageRetentionDays = int(readEnvironmentVariable('FAILED_MESSAGE_RETENTION_DAYS', '7'))

// The deployment: static outbound IP (VNet + NAT gateway) and scale.
param enableStaticOutboundIp = bool(readEnvironmentVariable('MAILHOOK_STATIC_OUTBOUND_IP', 'false'))
param maximumInstanceCount = int(readEnvironmentVariable('MAILHOOK_MAXIMUM_INSTANCE_COUNT', '100'))
param instanceMemoryMB = int(readEnvironmentVariable('MAILHOOK_INSTANCE_MEMORY_MB', '2048'))
