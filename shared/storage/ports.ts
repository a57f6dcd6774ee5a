import type { Readable } from "node:stream";
import type { TransportName } from "../domain/client.js";
import type { IdempotencyRecord } from "../domain/idempotency.js";
import type { MessageStatus, StatusRecord } from "../domain/statusRecord.js";
import type { PacingState } from "../pacing/state.js";
import type { TenantPacingState } from "../pacing/tenant.js";

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
  /**
   * Ids of the messages whose every blob was last written before `before` (for the sweep of what a crashed
   * intake left), read a page at a time as the caller goes on.
   */
  listStale(before: Date): AsyncIterable<string>;
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
  /**
   * A client's records newest first (by `createdAt`), from an index kept with the records in the same
   * write: no scan of other clients, and a time range is a key range. `status` and `mailbox` filter in the
   * store; `match` filters after it. Returns at most `limit` entries; one call does bounded work, so a
   * page may hold fewer while `resume` says where to go on.
   */
  scanByTime(clientId: string, query: TimeScanQuery): Promise<TimeScanPage>;
  /**
   * Indexes the client's records that have no (current) index entry: written before this release, or by an
   * older instance running beside this one during an upgrade. Resumes where the last run finished;
   * bounded work per call (`done` false: call again).
   */
  reindex(clientId: string): Promise<{ checked: number; repaired: number; done: boolean }>;
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
  /**
   * Ids of every record, of any client, whose message still holds content in the MessageStore (`hasBlobs`):
   * what the sweep of leftovers must keep. Read a page at a time as the caller goes on.
   */
  listWithContent(): AsyncIterable<string>;
}

export interface TimeScanQuery {
  status?: MessageStatus;
  /** The sending mailbox, compared case-insensitively. */
  mailbox?: string;
  /** Created at or after. */
  createdFrom?: Date;
  /** Created before. */
  createdBefore?: Date;
  /** A further filter on each record the store found (a text search). */
  match?: (record: StatusRecord) => boolean;
  /** Entries at most, 1 to 100. */
  limit: number;
  /** Where an earlier scan of the same query stopped: a page's `resume`, or `resumeAfter(entry.key)`. */
  resume?: string;
}

export interface TimeScanPage {
  /** Newest first; `key` orders entries of every client alike (ascending = newest first). */
  entries: { key: string; record: StatusRecord }[];
  /** The key of the last entry the scan looked at, matching or not: nothing newer is left unseen. */
  seen?: string;
  /** Where to go on; absent when nothing older matches. */
  resume?: string;
}

/** `resume` for a scan that goes on after the entry with this key. */
export function resumeAfter(key: string): string {
  return `k:${key}`;
}

/** A `resume` value no scan of this store handed out (a forged or foreign cursor). */
export class InvalidResumeError extends Error {
  constructor() {
    super("not a cursor this store handed out");
    this.name = "InvalidResumeError";
  }
}

/** The outbound queue: carries queue envelopes to the dispatcher. */
export interface OutboundQueue {
  /** Enqueues `text`, invisible for `delayMs` (the queue caps one delay at 7 days). */
  send(text: string, options?: { delayMs?: number }): Promise<void>;
  /**
   * Messages in the queue now, visible or waiting (scheduled, deferred, being sent): the backlog, derived
   * from the queue itself instead of a counter every message would write. Approximate, as the service says.
   */
  approximateCount(): Promise<number>;
}

/** The statuses the overview counts per hour. */
export const countedStatuses = ["sent", "failed", "deferred"] as const;
export type CountedStatus = (typeof countedStatuses)[number];

/** One hour's counts of one client. */
export interface ActivityHour {
  /** The hour's start, epoch ms (UTC). */
  hourStartMs: number;
  clientId: string;
  counts: Record<CountedStatus, number>;
}

/**
 * How many messages reached sent, failed or deferred, per client and hour: what the overview charts. Sharded,
 * so that no single entity takes every message's write.
 */
export interface ActivityCounters {
  /** Adds `counts` (moves of a client's messages into each status) to the hour of `at`. */
  add(clientId: string, at: Date, counts: Partial<Record<CountedStatus, number>>): Promise<void>;
  /** The counts of the hours that start from `from` up to `to` (exclusive), every client; absent hours are 0. */
  read(from: Date, to: Date): Promise<ActivityHour[]>;
}

/** Idempotency keys per client, shared by every instance. */
export interface IdempotencyStore {
  /**
   * Claims `key` for `record` unless a live claim (younger than the window) exists, and resolves to the record
   * that holds the key afterwards: `record` itself when this call won, the earlier one otherwise. Concurrent
   * claims of one key resolve to the same winner.
   */
  claim(clientId: string, key: string, record: IdempotencyRecord, now: Date): Promise<IdempotencyRecord>;
  /** Drops the claim when it is still `messageId`'s (its request was not accepted after all). */
  release(clientId: string, key: string, messageId: string): Promise<void>;
  /** Deletes up to `limit` claims made before `before`; resolves to how many went. */
  purgeBefore(before: Date, limit: number): Promise<number>;
}

/** What `change` hands back to an optimistic update: the state to store (none: store nothing) and a result. */
export interface StateChange<S, T> {
  state?: S;
  result: T;
}
export type PacingChange<T> = StateChange<PacingState, T>;

/** Storage operations a store has made, for tests and benchmarks that bound the cost per message. */
export interface PacingStoreCounters {
  reads: number;
  writes: number;
  /** Writes lost to another instance (ETag mismatch or concurrent create), each followed by a retry. */
  conflicts: number;
}

/**
 * Shared pacing state, one record per sending mailbox. Implementations only store and retry; the decision
 * is the pure function passed as `change`. Mailbox addresses are compared case-insensitively.
 */
export interface PacingStore {
  /** The mailbox's state, or undefined when it has never reserved anything. */
  get(mailbox: string): Promise<PacingState | undefined>;
  /**
   * Applies `change` under optimistic concurrency: reads, calls `change` with the current state, writes only
   * if nobody wrote in between, else re-reads and calls `change` again (so it must be pure), with jittered
   * backoff, a bounded number of times. Throws PacingContentionError when every attempt lost.
   */
  update<T>(mailbox: string, change: (current: PacingState | undefined) => PacingChange<T>): Promise<T>;
  /** Every mailbox that has pacing state, with it, up to `limit` (the table holds one entity per mailbox). */
  list(limit: number): Promise<{ mailbox: string; state: PacingState }[]>;
  readonly counters: PacingStoreCounters;
}

/**
 * The tenant-wide pacing state (the external recipient limit's pause), shared by every instance, under the
 * same optimistic protocol as `PacingStore`.
 */
export interface TenantPacingStore {
  get(): Promise<TenantPacingState | undefined>;
  update<T>(
    change: (current: TenantPacingState | undefined) => StateChange<TenantPacingState, T>,
  ): Promise<T>;
  readonly counters: PacingStoreCounters;
}

/** Every optimistic attempt lost a race: the mailbox is contended; try the message again shortly. */
export class PacingContentionError extends Error {
  constructor(mailbox: string, attempts: number) {
    super(`pacing state of ${mailbox} still contended after ${attempts} attempts`);
    this.name = "PacingContentionError";
  }
}

/**
 * Password logins that worked, per transport and mailbox, shared by every instance. The SMTP transports read
 * it only after a `535 5.7.3`, to tell "basic authentication was turned off" from "wrong password"
 * (shared/transport/smtp/loginMemory.ts). Nothing secret is stored: a time, never a password or a hash of one.
 */
export interface LoginHistoryStore {
  lastSuccessAt(transport: TransportName, mailbox: string): Promise<number | undefined>;
  recordSuccess(transport: TransportName, mailbox: string, atMs: number): Promise<void>;
}

/** The time; tests pass a fake one. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
