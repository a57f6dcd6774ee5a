import { PacingContentionError, type PacingStoreCounters, type StateChange } from "./ports.js";

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
export interface Versioned<S, V> {
  state: S;
  version: V;
}

/**
 * The read-change-conditional-write loop every pacing adapter shares (a mailbox's record, the tenant's).
 * `write` resolves false when the version moved on (HTTP 412, or 409 on a create) and true when stored.
 */
export async function optimisticUpdate<S, T, V>(
  key: string,
  io: {
    read(): Promise<Versioned<S, V> | undefined>;
    write(state: S, version: V | undefined): Promise<boolean>;
  },
  change: (current: S | undefined) => StateChange<S, T>,
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
  throw new PacingContentionError(key, options.maxAttempts);
}
