import { PacingContentionError, type PacingStoreCounters, type StateChange } from "./ports.js";
import type { RecentVersions } from "./recentVersions.js";

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

/** What a conditional write came to: stored (with the new version, when the service named one), or lost. */
export type Written<V> = { stored: true; version: V | undefined } | { stored: false };

/**
 * The read-change-conditional-write loop every pacing adapter shares (a mailbox's record, the tenant's).
 * `write` resolves to the new version when stored, and to not stored when the version moved on (HTTP 412, or
 * 409 on a create).
 *
 * With `recent`, the version this process last read or wrote stands in for the first read: the write still
 * names that version, so if another instance wrote meanwhile it is refused and the loop reads, as after any
 * lost race (without the pause: a stale memory is not a live contender). A result that writes nothing is
 * only handed back from a state just read, never from memory alone.
 */
export async function optimisticUpdate<S, T, V>(
  key: string,
  io: {
    read(): Promise<Versioned<S, V> | undefined>;
    write(state: S, version: V | undefined): Promise<Written<V>>;
  },
  change: (current: S | undefined) => StateChange<S, T>,
  counters: PacingStoreCounters,
  options: RetryOptions,
  recent?: RecentVersions<S, V>,
): Promise<T> {
  let remembered = recent?.get(key);
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    let current: Versioned<S, V> | undefined;
    if (remembered) current = { state: structuredClone(remembered.state), version: remembered.version };
    else {
      current = await io.read();
      counters.reads++;
    }
    const { state, result } = change(current?.state);
    if (!state) {
      if (!remembered) return result;
      remembered = undefined;
      attempt--;
      continue;
    }
    counters.writes++;
    const written = await io.write(state, current?.version);
    if (written.stored) {
      recent?.set(key, structuredClone(state), written.version);
      return result;
    }
    recent?.delete(key, current?.version);
    if (remembered) {
      remembered = undefined;
      attempt--;
      continue;
    }
    counters.conflicts++;
    const capMs = Math.min(options.maxBackoffMs, options.baseBackoffMs * 2 ** (attempt - 1));
    await options.sleep(Math.random() * capMs);
  }
  throw new PacingContentionError(key, options.maxAttempts);
}
