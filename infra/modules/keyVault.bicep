// Key Vault (RBAC mode) for MAILHOOK_CLIENTS and the transport secrets; app settings reference the secrets
// (@Microsoft.KeyVault(...)), so they never appear in the site configuration.

@description('Name of the key vault (3-24 characters).')
param name string

@description('Azure region.')
param location string

@description('Tags for the resources.')
param tags object

@description('Principal id of the Function App\'s managed identity.')
param principalId string

@secure()
@description('MAILHOOK_CLIENTS JSON.')
param mailhookClients string

@secure()
@description('ENTRA_CLIENT_SECRET; empty creates no secret.')
param entraClientSecret string = ''

@secure()
@description('ENTRA_CLIENT_CERTIFICATE PEM (or base64 of it); empty creates no secret.')
param entraClientCertificate string = ''

@secure()
@description('SMTP_PASSWORDS JSON; empty creates no secret.')
param smtpPasswords string = ''

@secure()
@description('HVE_PASSWORDS JSON; empty creates no secret.')
param hvePasswords string = ''

@secure()
@description('RELAY_CLIENT_CERTIFICATE PEM (or base64 of it); empty creates no secret.')
param relayClientCertificate string = ''

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource clients 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'mailhook-clients'
  properties: { value: mailhookClients, contentType: 'application/json' }
}

resource entraSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(entraClientSecret)) {
  parent: vault
  name: 'entra-client-secret'
  properties: { value: entraClientSecret }
}

resource smtpSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(smtpPasswords)) {
  parent: vault
  name: 'smtp-passwords'
  properties: { value: smtpPasswords, contentType: 'application/json' }
}

// Certificates as secrets holding the PEM: Flex Consumption loads no certificates itself, so the app reads the
// PEM from an app setting that references the secret. Rotate with `az keyvault secret set --file new.pem`.
resource entraCertificate 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(entraClientCertificate)) {
  parent: vault
  name: 'entra-client-certificate'
  properties: { value: entraClientCertificate, contentType: 'application/x-pem-file' }
}

resource hveSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(hvePasswords)) {
  parent: vault
  name: 'hve-passwords'
  properties: { value: hvePasswords, contentType: 'application/json' }
}

resource relayCertificate 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(relayClientCertificate)) {
  parent: vault
  name: 'relay-client-certificate'
  properties: { value: relayClientCertificate, contentType: 'application/x-pem-file' }
}

// Key Vault Secrets User: read secret values, nothing else (no listing keys, no writing).
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource reader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name

@description('The secret holding each setting; empty when the setting was not given.')
output secretNames object = {
  MAILHOOK_CLIENTS: clients.name
  ENTRA_CLIENT_SECRET: empty(entraClientSecret) ? '' : 'entra-client-secret'
  ENTRA_CLIENT_CERTIFICATE: empty(entraClientCertificate) ? '' : 'entra-client-certificate'
  SMTP_PASSWORDS: empty(smtpPasswords) ? '' : 'smtp-passwords'
  HVE_PASSWORDS: empty(hvePasswords) ? '' : 'hve-passwords'
  RELAY_CLIENT_CERTIFICATE: empty(relayClientCertificate) ? '' : 'relay-client-certificate'
}
