import type { PacingState } from "../../pacing/state.js";
import { defaultRetryOptions, optimisticUpdate, type RetryOptions } from "../optimistic.js";
import type { PacingChange, PacingStore, PacingStoreCounters } from "../ports.js";

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
          if (record?.version !== version) return { stored: false };
          this.records.set(key, { state: structuredClone(state), version: (version ?? 0) + 1 });
          return { stored: true, version: (version ?? 0) + 1 };
        },
      },
      change,
      this.counters,
      this.options,
    );
  }

  async list(limit: number): Promise<{ mailbox: string; state: PacingState }[]> {
    return [...this.records.entries()]
      .slice(0, limit)
      .map(([mailbox, record]) => ({ mailbox, state: structuredClone(record.state) }));
  }
}
