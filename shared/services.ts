import type { Config, TransportName } from "./config.js";
import type { ClientRegistry } from "./intake/auth.js";
import type { Clock, MessageStore, OutboundQueue, StatusStore } from "./storage/ports.js";
import type { Transport } from "./transport/transport.js";

/** Everything a handler needs, built once per process by the composition root (`shared/compose.ts`). */
export interface Services {
  config: Config;
  clients: ClientRegistry;
  messages: MessageStore;
  statuses: StatusStore;
  queue: OutboundQueue;
  transports: ReadonlyMap<TransportName, Transport>;
  clock: Clock;
  newId(): string;
}
