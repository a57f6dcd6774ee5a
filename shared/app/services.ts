import type { Config } from "../config.js";
import type { TransportName } from "../domain/client.js";
import type { ClientRegistry } from "../api/auth.js";
import type { MailboxPacer } from "./mailboxPacer.js";
import type { Clock, IdempotencyStore, MessageStore, OutboundQueue, StatusStore } from "../storage/ports.js";
import type { Transport } from "../transport/transport.js";

/** Everything a handler needs, built once per process by the composition root (`shared/host/compose.ts`). */
export interface Services {
  config: Config;
  clients: ClientRegistry;
  messages: MessageStore;
  statuses: StatusStore;
  queue: OutboundQueue;
  /** `Idempotency-Key` claims per client. */
  idempotency: IdempotencyStore;
  transports: ReadonlyMap<TransportName, Transport>;
  /** Shared pacing of every sending mailbox (Exchange Online's limits). */
  pacer: MailboxPacer;
  clock: Clock;
  newId(): string;
}
