import { randomUUID } from "node:crypto";
import type { Config, TransportName } from "./config.js";
import type { DispatchDeps } from "./dispatch/dispatch.js";
import { ClientRegistry } from "./intake/auth.js";
import type { Logger } from "./log.js";
import type { Services } from "./services.js";
import { azureStorage, type StorageNames } from "./storage/azure.js";
import { type Clock, systemClock } from "./storage/ports.js";
import { MissingLoginError, SmtpTransport } from "./transport/smtp.js";
import type { Transport } from "./transport/transport.js";

export interface ComposeOptions {
  /** Storage names; tests use unique ones. */
  storageNames?: StorageNames;
  clock?: Clock;
}

/** The composition root: real adapters built from validated configuration. */
export async function composeServices(config: Config, options: ComposeOptions = {}) {
  const storage = azureStorage(config.storageConnection, options.storageNames);
  await storage.ensure();
  const transports = buildTransports(config);
  const clients = new ClientRegistry(config.clients);
  const services: Services = {
    config,
    clients,
    messages: storage.messages,
    statuses: storage.statuses,
    queue: storage.queue,
    transports,
    clock: options.clock ?? systemClock,
    newId: randomUUID,
  };
  const dispatchDeps = (log: Logger): DispatchDeps => ({
    ...services,
    log,
    saveToSentItems: (clientId) => clients.clients.find((c) => c.id === clientId)?.saveToSentItems ?? true,
  });
  return {
    services,
    storage,
    dispatchDeps,
    async close(): Promise<void> {
      await Promise.all([...transports.values()].map((t) => t.close()));
    },
  };
}

export type Composed = Awaited<ReturnType<typeof composeServices>>;

function buildTransports(config: Config): Map<TransportName, Transport> {
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
