import type { SendOutcome } from "../outcome.js";

// Entra answers that will not change until someone fixes the app registration or the settings.
const credentialErrors =
  /\b(invalid_client|unauthorized_client|invalid_scope|AADSTS700016|AADSTS7000215|AADSTS700027|AADSTS90002|AADSTS500011)\b/;

/** Classifies a failure to get an app-only token from Entra ID (msal's errorCode and message). */
export function classifyTokenFailure(errorCode: string, message: string): SendOutcome {
  const code = `entra ${errorCode}`;
  if (credentialErrors.test(`${errorCode} ${message}`)) {
    return { kind: "permanent", code, text: `Entra ID refused the app's credentials: ${message}` };
  }
  return { kind: "transient", code, text: `could not get a token from Entra ID: ${message}` };
}
