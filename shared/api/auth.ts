import { createHash, timingSafeEqual } from "node:crypto";
import type { Client } from "../domain/client.js";
import { ProblemError } from "../domain/problem.js";
import { AuthFailureLimiter, addressKey } from "./authFailures.js";

/**
 * The API key from `Authorization: Bearer <key>`, `x-api-key: <key>`, or HTTP Basic with the key as the
 * password (scanners often have only user and password fields).
 */
export function apiKeyFrom(headers: Headers): string | undefined {
  const explicit = headers.get("x-api-key")?.trim();
  if (explicit) return explicit;
  const authorization = headers.get("authorization")?.trim() ?? "";
  const [scheme, credentials = ""] = authorization.split(/\s+/, 2);
  if (scheme?.toLowerCase() === "bearer") return credentials || undefined;
  if (scheme?.toLowerCase() === "basic") {
    const decoded = Buffer.from(credentials, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon >= 0 ? decoded.slice(colon + 1) || undefined : undefined;
  }
  return undefined;
}

/** The same text for a missing and an unknown key, naming each way `apiKeyFrom` reads one. */
export const unauthorizedDetail =
  "A valid API key is needed. Send it in one of three ways: 'Authorization: Bearer <key>', " +
  "'x-api-key: <key>', or HTTP Basic with any user name and the key as the password.";

/**
 * The `WWW-Authenticate` challenge of a 401. A request that came with a key in `Authorization: Bearer` or
 * `x-api-key` is answered in the scheme it used (RFC 6750, section 3: `error="invalid_token"`) and gets no
 * `Basic` challenge, so a browser (the console) never opens its login dialog over a wrong key; a request with
 * no key or with Basic gets both, since devices with only user/password fields need `Basic` to log in at all.
 */
export function challengeFor(headers: Headers): string {
  const scheme = headers.get("authorization")?.trim().split(/\s+/, 1)[0]?.toLowerCase();
  if (headers.get("x-api-key")?.trim() || scheme === "bearer")
    return 'Bearer realm="mailhook", error="invalid_token"';
  return 'Bearer realm="mailhook", Basic realm="mailhook"';
}

/** The configured callers, looked up by the SHA-256 of their key. */
export class ClientRegistry {
  private readonly hashes: { client: Client; hash: Buffer }[];

  constructor(
    readonly clients: readonly Client[],
    private readonly failures = new AuthFailureLimiter(),
    private readonly nowMs: () => number = Date.now,
  ) {
    this.hashes = clients.map((client) => ({ client, hash: Buffer.from(client.keySha256, "hex") }));
  }

  /** The client holding `key`, comparing every stored hash in constant time. */
  find(key: string): Client | undefined {
    const presented = createHash("sha256").update(key, "utf8").digest();
    let found: Client | undefined;
    for (const { client, hash } of this.hashes) {
      if (timingSafeEqual(presented, hash)) found = client;
    }
    return found;
  }

  /**
   * The caller of a request, or a 401 that does not say whether a client exists; a source that keeps
   * failing gets 429 with Retry-After instead (a valid key still works from there). `source` is the
   * caller's address as the host knows it (ApiRequest.source), never a header the caller chose.
   */
  authenticate(headers: Headers, source: string): Client {
    const key = apiKeyFrom(headers);
    const client = key === undefined ? undefined : this.find(key);
    if (!client) {
      const waitMs = this.failures.fail(addressKey(source), this.nowMs());
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        throw new ProblemError("rateLimited", `Too many failed authentications; try again in ${seconds} s.`, {
          headers: { "Retry-After": String(seconds) },
        });
      }
      throw new ProblemError("unauthorized", unauthorizedDetail, {
        headers: { "WWW-Authenticate": challengeFor(headers) },
      });
    }
    return client;
  }
}
