import type { Config, TransportName } from "../config.js";
import { MissingLoginError, SmtpTransport } from "./smtp.js";
import type { Transport } from "./transport.js";

/** The transports the configured clients use, built once per process. */
export function buildTransports(config: Config): Map<TransportName, Transport> {
  const used = new Set(config.clients.map((c) => c.transport));
  const transports = new Map<TransportName, Transport>();
  for (const name of used) {
    if (name !== "smtp" || config.smtp.auth !== "basic") {
      throw new Error(
        `transport ${name}${name === "smtp" ? " with SMTP_AUTH=oauth2" : ""} is not available yet`,
      );
    }
    const passwords = config.smtp.passwords;
    transports.set(
      "smtp",
      new SmtpTransport({
        name: "smtp",
        host: config.smtp.host,
        port: config.smtp.port,
        requireTLS: true,
        connectionsPerMailbox: 3,
        async login(mailbox) {
          // SMTP_PASSWORDS maps mailbox → password; "*" is the login for any mailbox without its own entry.
          const pass = passwords[mailbox.toLowerCase()] ?? passwords[mailbox] ?? passwords["*"];
          if (!pass) throw new MissingLoginError(`no SMTP password for ${mailbox} in SMTP_PASSWORDS`);
          return { user: mailbox, pass };
        },
      }),
    );
  }
  return transports;
}
