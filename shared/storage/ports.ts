import type { Readable } from "node:stream";
import type { MessageStatus, StatusRecord } from "../domain/statusRecord.js";

/** Message bytes too large for a queue message: bodies and attachments, under `{id}/...`. */
export interface MessageStore {
  /** Stores a stream or buffer at `path`; the stream is consumed, never buffered whole. */
  upload(path: string, content: Readable | Buffer, contentType: string): Promise<void>;
  /** Opens the bytes at `path` as a stream. */
  download(path: string): Promise<Readable>;
  /** Deletes every blob of one message; no error when there are none. */
  deleteMessage(id: string): Promise<void>;
  /** Paths stored under `{id}/`, for checks that nothing is half-stored. */
  list(id: string): Promise<string[]>;
}

export class StatusConflictError extends Error {
  constructor(id: string) {
    super(`status record ${id} already exists`);
    this.name = "StatusConflictError";
  }
}

/** Status records, one per message, partitioned by client so one client can never read another's. */
export interface StatusStore {
  /** Creates a record; throws StatusConflictError when one with the same id exists. */
  create(record: StatusRecord): Promise<void>;
  get(clientId: string, id: string): Promise<StatusRecord | undefined>;
  /**
   * Applies `change` under optimistic concurrency, re-reading and re-applying on a lost race.
   * `change` returns undefined to leave the record as it is. Resolves to the stored record.
   */
  update(
    clientId: string,
    id: string,
    change: (current: StatusRecord) => StatusRecord | undefined,
  ): Promise<StatusRecord | undefined>;
  /** One page of a client's records, optionally of one status; `continuationToken` fetches the next page. */
  list(clientId: string, query: StatusQuery): Promise<StatusPage>;
  /**
   * Up to `limit` records of any client in `status`, last changed before `before` (for retention);
   * `withBlobs` keeps only those still holding message content.
   */
  listStale(
    status: MessageStatus,
    before: Date,
    limit: number,
    options?: { withBlobs?: boolean },
  ): Promise<StatusRecord[]>;
  delete(clientId: string, id: string): Promise<void>;
}

export interface StatusQuery {
  status?: MessageStatus;
  /** Page size, 1 to 100. */
  limit: number;
  continuationToken?: string;
}

export interface StatusPage {
  records: StatusRecord[];
  continuationToken?: string;
}

/** The outbound queue: carries queue envelopes to the dispatcher. */
export interface OutboundQueue {
  /** Enqueues `text`, invisible for `delayMs` (the queue caps one delay at 7 days). */
  send(text: string, options?: { delayMs?: number }): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
