import type { Config } from "../config.js";
import type { TransportName } from "../domain/client.js";
import type { Logger } from "../log.js";
import type {
  ActivityCounters,
  Clock,
  IdempotencyStore,
  MessageStore,
  OutboundQueue,
  StatusStore,
} from "../storage/ports.js";
import type { Transport } from "../transport/transport.js";
import type { FinalReports } from "./finalReport.js";
import type { MailboxPacer } from "./mailboxPacer.js";
import type { TenantPacer } from "./tenantPacer.js";

/** What the use cases need, built once per process by the composition root (`shared/host/compose.ts`). */
export interface Services {
  config: Config;
  messages: MessageStore;
  statuses: StatusStore;
  /** Sent, failed and deferred per client and hour, for the overview. */
  activity: ActivityCounters;
  queue: OutboundQueue;
  /** `Idempotency-Key` claims per client. */
  idempotency: IdempotencyStore;
  transports: ReadonlyMap<TransportName, Transport>;
  /** Shared pacing of every sending mailbox (Exchange Online's limits). */
  pacer: MailboxPacer;
  /** The tenant's external recipient limit, shared by every mailbox. */
  tenant: TenantPacer;
  clock: Clock;
  newId(): string;
  /**
   * Whether `error` says the storage could not be reached (or answered a server error): a request that met
   * one is answered 503 with Retry-After, not 500.
   */
  isStorageOutage(error: unknown): boolean;
}

/** What the queue functions that send (dispatch, poison) need; built per invocation with its logger. */
export interface DispatchDeps {
  messages: MessageStore;
  statuses: StatusStore;
  queue: OutboundQueue;
  transports: ReadonlyMap<TransportName, Transport>;
  clock: Clock;
  log: Logger;
  /** Shared pacing of sending mailboxes: a slot is reserved before every send. */
  pacer: MailboxPacer;
  /** The tenant's external recipient limit: messages with external recipients pass it before their mailbox. */
  tenant: TenantPacer;
  /** Waits for a slot reserved a few seconds ahead; tests with a fake clock advance it instead. */
  sleep?(ms: number): Promise<void>;
  /** Client default for Graph's saveToSentItems when the message does not say. */
  saveToSentItems(clientId: string): boolean;
  /** Reports messages that reached `sent` or `failed` (delivery webhooks); absent: nothing is reported. */
  reports?: FinalReports;
}
