import type { SendOutcome } from "../outcome.js";

export type TokenFailureOutcome = Extract<SendOutcome, { kind: "transient" | "permanent" }>;

/**
 * Entra ID answers that stay the same until someone fixes the app registration or a setting, each with the
 * setting to renew. Codes: https://learn.microsoft.com/entra/identity-platform/reference-error-codes
 * (AADSTS7000215 InvalidClientSecretProvided, AADSTS7000222 InvalidClientSecretExpiredKeysProvided,
 * AADSTS700027 InvalidClientAssertion, AADSTS700016 UnauthorizedClient_DoesNotMatchRequest, AADSTS90002
 * InvalidTenantName, AADSTS500011 InvalidResourceServicePrincipalNotFound).
 */
const credentialRules: { pattern: RegExp; fix: string }[] = [
  {
    pattern: /\bAADSTS7000222\b/,
    fix: "the client secret has expired: create a new one in the app registration and put it in ENTRA_CLIENT_SECRET",
  },
  {
    pattern: /\bAADSTS7000215\b/,
    fix: "ENTRA_CLIENT_SECRET is not a valid secret of the app (use the secret's value, not its id)",
  },
  {
    pattern: /\bAADSTS700027\b/,
    fix:
      "the certificate in ENTRA_CLIENT_CERTIFICATE (or ENTRA_CLIENT_CERTIFICATE_PATH) is not, or no longer, " +
      "registered on the app: upload the current certificate, or renew it",
  },
  { pattern: /\bAADSTS700016\b/, fix: "ENTRA_CLIENT_ID names no app in the tenant ENTRA_TENANT_ID" },
  { pattern: /\bAADSTS90002\b/, fix: "ENTRA_TENANT_ID names no tenant" },
  {
    pattern: /\bAADSTS500011\b/,
    fix: "the resource is not in the tenant: check GRAPH_ENDPOINT and the app's API permissions",
  },
  {
    pattern: /\b(invalid_client|unauthorized_client|invalid_scope)\b/,
    fix: "check ENTRA_CLIENT_ID, and ENTRA_CLIENT_SECRET or the certificate setting",
  },
];

/**
 * Classifies a failure to get an app-only token from Entra ID (msal's errorCode and message): a wrong or
 * expired credential fails the message at once, naming the setting to renew; anything else (no answer, a
 * timeout, a 5xx, a body that is not a token) is transient, and the next attempt asks for a token again
 * (after a 5xx, msal-node itself waits out its Retry-After, or 60 s, before it asks the endpoint again).
 */
export function classifyTokenFailure(errorCode: string, message: string): TokenFailureOutcome {
  const code = `entra ${errorCode}`;
  const rule = credentialRules.find((r) => r.pattern.test(`${errorCode} ${message}`));
  if (rule) {
    return {
      kind: "permanent",
      code,
      text: `Entra ID refused the app's credentials: ${rule.fix}. Entra said: ${message}`,
    };
  }
  return { kind: "transient", code, text: `could not get a token from Entra ID: ${message}` };
}
