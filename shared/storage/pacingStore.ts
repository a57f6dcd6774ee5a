import type { PacingState } from "../pacing/state.js";

/** What `change` hands back to `PacingStore.update`: the state to store (none: store nothing) and a result. */
export interface PacingChange<T> {
  state?: PacingState;
  result: T;
}

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
  readonly counters: PacingStoreCounters;
}

/** Every optimistic attempt lost a race: the mailbox is contended; try the message again shortly. */
export class PacingContentionError extends Error {
  constructor(mailbox: string, attempts: number) {
    super(`pacing state of ${mailbox} still contended after ${attempts} attempts`);
    this.name = "PacingContentionError";
  }
}

export interface RetryOptions {
  maxAttempts: number;
  /** Upper bound of the random wait before retry n is `min(maxBackoffMs, baseBackoffMs * 2^(n-1))`. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  sleep(ms: number): Promise<void>;
}

export const defaultRetryOptions: RetryOptions = {
  maxAttempts: 12,
  baseBackoffMs: 5,
  maxBackoffMs: 250,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A stored state and the version it was read at. */
export interface Versioned<V> {
  state: PacingState;
  version: V;
}

/**
 * The read-change-conditional-write loop both adapters share. `write` resolves false when the version
 * moved on (HTTP 412, or 409 on a create) and true when stored.
 */
export async function optimisticUpdate<T, V>(
  mailbox: string,
  io: {
    read(): Promise<Versioned<V> | undefined>;
    write(state: PacingState, version: V | undefined): Promise<boolean>;
  },
  change: (current: PacingState | undefined) => PacingChange<T>,
  counters: PacingStoreCounters,
  options: RetryOptions,
): Promise<T> {
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    const current = await io.read();
    counters.reads++;
    const { state, result } = change(current?.state);
    if (!state) return result;
    counters.writes++;
    if (await io.write(state, current?.version)) return result;
    counters.conflicts++;
    const capMs = Math.min(options.maxBackoffMs, options.baseBackoffMs * 2 ** (attempt - 1));
    await options.sleep(Math.random() * capMs);
  }
  throw new PacingContentionError(mailbox, options.maxAttempts);
}

/**
 * The in-memory fake: the same optimistic protocol as the Table adapter (a version per record, a write
 * that loses when the version moved), with a yield between read and write so concurrent callers interleave.
 */
export class MemoryPacingStore implements PacingStore {
  readonly counters: PacingStoreCounters = { reads: 0, writes: 0, conflicts: 0 };
  private readonly records = new Map<string, { state: PacingState; version: number }>();

  constructor(
    private readonly options: RetryOptions = { ...defaultRetryOptions, sleep: async () => {} },
    /** Yield between read and write (true in contract tests; the single-threaded simulation turns it off). */
    private readonly interleave = true,
  ) {}

  async get(mailbox: string): Promise<PacingState | undefined> {
    this.counters.reads++;
    const record = this.records.get(mailbox.toLowerCase());
    return record && structuredClone(record.state);
  }

  update<T>(mailbox: string, change: (current: PacingState | undefined) => PacingChange<T>): Promise<T> {
    const key = mailbox.toLowerCase();
    return optimisticUpdate(
      mailbox,
      {
        read: async () => {
          const record = this.records.get(key);
          return record && { state: structuredClone(record.state), version: record.version };
        },
        write: async (state, version) => {
          if (this.interleave) await new Promise((resolve) => setImmediate(resolve));
          const record = this.records.get(key);
          if (record?.version !== version) return false;
          this.records.set(key, { state: structuredClone(state), version: (version ?? 0) + 1 });
          return true;
        },
      },
      change,
      this.counters,
      this.options,
    );
  }
}
