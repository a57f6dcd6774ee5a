import { ConfidentialClientApplication, type Configuration } from "@azure/msal-node";
import type { EntraSettings } from "../../config.js";
import { readCertificateCredential } from "./credential.js";

/** An app-only access token and when it stops working. */
export interface AccessToken {
  token: string;
  expiresOnMs: number;
}

/** App-only tokens for one Entra app registration (client credentials flow). */
export interface TokenProvider {
  /**
   * A token for `scope` (`<resource>/.default`), from the in-memory cache while it has more than
   * msal's renewal margin (5 minutes) left; `forceRefresh` skips the cache (after a 401, say).
   */
  getToken(scope: string, options?: { forceRefresh?: boolean }): Promise<AccessToken>;
  /**
   * Forgets the cached token for `scope`: the next `getToken` asks Entra again. Roles (application
   * permissions) are claims inside the token, fixed when it was issued, so a permission granted after a
   * refusal (Graph `ErrorAccessDenied`, SMTP `535`) reaches mailhook only through a new token.
   * https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference#payload-claims
   */
  invalidate(scope: string): void;
}

/** Exchange Online's resource for SMTP AUTH with XOAUTH2 (SMTP.SendAsApp). */
export const exchangeSmtpScope = "https://outlook.office365.com/.default";

/** Microsoft Graph's resource on the configured cloud (graph.microsoft.com, graph.microsoft.us, …). */
export function graphScope(graphEndpoint: string): string {
  return `${new URL(graphEndpoint).origin}/.default`;
}

/** Raised when the token endpoint answers with an error or cannot be reached; `errorCode` is msal's. */
export class TokenError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

/**
 * One msal-node ConfidentialClientApplication per process (build it once, in the composition root): msal keeps
 * the token cache in memory and renews a token 5 minutes before it expires. Concurrent requests for one scope
 * share a single call to the token endpoint.
 */
export function createTokenProvider(
  settings: EntraSettings,
  options: { timeoutMs?: number } = {},
): TokenProvider {
  const timeoutMs = options.timeoutMs ?? defaultTokenTimeoutMs;
  const authorityHost = new URL(settings.authorityHost);
  const configuration: Configuration = {
    auth: {
      clientId: settings.clientId,
      authority: `${authorityHost.origin}/${settings.tenantId}`,
      // The configured host is trusted as is: msal then skips instance discovery (a call to
      // login.microsoftonline.com), which national clouds and private networks do not want either.
      knownAuthorities: [authorityHost.host],
      ...(settings.clientSecret
        ? { clientSecret: settings.clientSecret }
        : {
            clientCertificate: readCertificateCredential(
              settings.clientCertificate
                ? { setting: "ENTRA_CLIENT_CERTIFICATE", pem: settings.clientCertificate }
                : { setting: "ENTRA_CLIENT_CERTIFICATE_PATH", path: settings.clientCertificatePath ?? "" },
            ),
          }),
    },
  };
  const app = new ConfidentialClientApplication(configuration);
  const inFlight = new Map<string, Promise<AccessToken>>();
  const stale = new Set<string>();

  return {
    getToken(scope, request = {}) {
      const fresh = request.forceRefresh === true || stale.has(scope);
      const key = `${fresh ? "fresh" : "cached"} ${scope}`;
      const pending = inFlight.get(key);
      if (pending) return pending;
      const fetched = withDeadline(
        acquire(app, scope, fresh).then((token) => {
          // skipCache also stores the new token in msal's cache: later calls get it from there.
          if (fresh) stale.delete(scope);
          return token;
        }),
        timeoutMs,
      ).finally(() => inFlight.delete(key));
      inFlight.set(key, fetched);
      return fetched;
    },
    invalidate(scope) {
      stale.add(scope);
    },
  };
}

// msal-node sets no deadline on the token POST: a token endpoint that never answers would hold the send.
const defaultTokenTimeoutMs = 30_000;

/** Rejects with a TokenError (transient) when `pending` takes longer than `timeoutMs`. */
function withDeadline<T>(pending: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TokenError("timeout", `no answer from the token endpoint within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}

async function acquire(app: ConfidentialClientApplication, scope: string, skipCache: boolean) {
  let result: Awaited<ReturnType<ConfidentialClientApplication["acquireTokenByClientCredential"]>>;
  try {
    result = await app.acquireTokenByClientCredential({ scopes: [scope], skipCache });
  } catch (error) {
    const e = error as { errorCode?: string; errorMessage?: string; message?: string };
    // msal's errorMessage holds Entra's AADSTS code and text, never the secret or the token.
    throw new TokenError(e.errorCode ?? "unknown", e.errorMessage || e.message || String(error));
  }
  if (!result?.accessToken) throw new TokenError("no_token", "the token endpoint returned no access token");
  return { token: result.accessToken, expiresOnMs: result.expiresOn?.getTime() ?? Date.now() };
}
