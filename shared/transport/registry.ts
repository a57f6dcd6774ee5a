import { type Config, ConfigError } from "../config.js";
import type { TransportName } from "../domain/client.js";
import { readPemPair } from "./entra/credential.js";
import { createTokenProvider, exchangeSmtpScope, type TokenProvider } from "./entra/tokenProvider.js";
import { GraphTransport } from "./graph/transport.js";
import type { PasswordLoginHistory } from "./smtp/loginMemory.js";
import { MissingLoginError, type SmtpAuth, SmtpTransport } from "./smtp/transport.js";
import type { Transport } from "./transport.js";

/**
 * The transports the configured clients use, built once per process (one token client shared by graph and
 * smtp+oauth2). Refuses what cannot work at start-up: unreadable certificates, missing settings. `logins` is
 * the shared memory of password logins that worked (the composition root passes the storage adapter).
 */
export function buildTransports(
  config: Config,
  options: { logins?: PasswordLoginHistory } = {},
): Map<TransportName, Transport> {
  const { logins } = options;
  const used = new Set(config.clients.map((c) => c.transport));
  const transports = new Map<TransportName, Transport>();
  let tokens: TokenProvider | undefined;
  const entraTokens = (): TokenProvider => {
    if (!config.entra) throw new ConfigError(["ENTRA_TENANT_ID and ENTRA_CLIENT_ID are required"]);
    tokens ??= startupCheck(() => createTokenProvider(config.entra!));
    return tokens;
  };
  const mx = () => {
    if (!config.mx)
      throw new ConfigError(["MX_ENDPOINT and ACCEPTED_DOMAINS are required for direct and relay"]);
    return config.mx;
  };

  /** Direct Send and relay: the tenant's MX endpoint, no SMTP AUTH. */
  const mxTransport = (
    name: "direct" | "relay",
    tls: { requireTLS: boolean; clientCertificate?: { cert: string; key: string } },
  ) =>
    new SmtpTransport({
      name,
      host: mx().endpoint,
      port: mx().port,
      requireTLS: tls.requireTLS,
      auth: { kind: "none" },
      ...(tls.clientCertificate ? { clientCertificate: tls.clientCertificate } : {}),
      connectionsPerMailbox: 3,
    });

  for (const name of used) {
    switch (name) {
      case "graph":
        transports.set(
          name,
          new GraphTransport({ graphEndpoint: config.graphEndpoint, tokens: entraTokens() }),
        );
        break;
      case "smtp":
        transports.set(
          name,
          new SmtpTransport({
            name,
            host: config.smtp.host,
            port: config.smtp.port,
            // SMTP AUTH carries a password or a token: never without TLS 1.2+ (Microsoft 365 requires it).
            requireTLS: true,
            auth:
              config.smtp.auth === "oauth2"
                ? { kind: "oauth2", tokens: entraTokens(), scope: exchangeSmtpScope }
                : basicAuth(config.smtp.passwords),
            connectionsPerMailbox: 3,
            ...(logins ? { logins } : {}),
          }),
        );
        break;
      case "direct":
        // Direct Send: no credentials; STARTTLS when the MX offers it (it always does in Exchange Online).
        transports.set(name, mxTransport(name, { requireTLS: false }));
        break;
      case "hve":
        // High Volume Email: SMTP submission with STARTTLS (TLS 1.2+), XOAUTH2 with the app's token for
        // Exchange Online (https://learn.microsoft.com/exchange/mail-flow-best-practices/oauth-high-volume-mails-m365)
        // unless HVE_PASSWORDS holds the account's password.
        transports.set(
          name,
          new SmtpTransport({
            name,
            host: config.hve.host,
            port: config.hve.port,
            requireTLS: true,
            auth: config.entra
              ? {
                  kind: "passwordOrOauth2",
                  password: (mailbox) => passwordFrom(config.hve.passwords, mailbox),
                  tokens: entraTokens(),
                  scope: exchangeSmtpScope,
                }
              : basicAuth(config.hve.passwords, "HVE_PASSWORDS"),
            connectionsPerMailbox: config.hve.concurrency,
            ...(logins ? { logins } : {}),
          }),
        );
        break;
      case "relay": {
        const { relayClientCertificate: pem, relayClientCertificatePath: path } = mx();
        const source = pem
          ? { setting: "RELAY_CLIENT_CERTIFICATE", pem }
          : path
            ? { setting: "RELAY_CLIENT_CERTIFICATE_PATH", path }
            : undefined;
        const clientCertificate = source ? startupCheck(() => readPemPair(source)) : undefined;
        // A connector matches on the sender IP or the certificate presented over TLS: TLS is required.
        transports.set(name, mxTransport(name, { requireTLS: true, clientCertificate }));
        break;
      }
    }
  }
  return transports;
}

/** SMTP_PASSWORDS and HVE_PASSWORDS map mailbox → password; "*" is the login for any mailbox without its own. */
function passwordFrom(passwords: Record<string, string>, mailbox: string): string | undefined {
  const own = Object.entries(passwords).find(([m]) => m.toLowerCase() === mailbox.toLowerCase());
  return own?.[1] ?? passwords["*"];
}

function basicAuth(passwords: Record<string, string>, setting = "SMTP_PASSWORDS"): SmtpAuth {
  return {
    kind: "basic",
    password(mailbox) {
      const pass = passwordFrom(passwords, mailbox);
      if (!pass) throw new MissingLoginError(`no SMTP password for ${mailbox} in ${setting}`);
      return pass;
    },
  };
}

/** Runs a start-up step, turning its error into a ConfigError so the host prints it with the others. */
function startupCheck<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError([error instanceof Error ? error.message : String(error)]);
  }
}
