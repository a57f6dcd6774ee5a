import type { TenantPacingState } from "../../pacing/tenant.js";
import { defaultRetryOptions, optimisticUpdate, type RetryOptions } from "../optimistic.js";
import type { PacingStoreCounters, StateChange, TenantPacingStore } from "../ports.js";

/** The in-memory fake of the tenant's pacing state: the same optimistic protocol as the Table adapter. */
export class MemoryTenantPacingStore implements TenantPacingStore {
  readonly counters: PacingStoreCounters = { reads: 0, writes: 0, conflicts: 0 };
  private record: { state: TenantPacingState; version: number } | undefined;

  constructor(
    private readonly options: RetryOptions = { ...defaultRetryOptions, sleep: async () => {} },
    /** Yield between read and write so concurrent callers interleave (off in single-threaded simulations). */
    private readonly interleave = true,
  ) {}

  async get(): Promise<TenantPacingState | undefined> {
    this.counters.reads++;
    return this.record && structuredClone(this.record.state);
  }

  update<T>(
    change: (current: TenantPacingState | undefined) => StateChange<TenantPacingState, T>,
  ): Promise<T> {
    return optimisticUpdate(
      "the tenant",
      {
        read: async () =>
          this.record && { state: structuredClone(this.record.state), version: this.record.version },
        write: async (state, version) => {
          if (this.interleave) await new Promise((resolve) => setImmediate(resolve));
          if (this.record?.version !== version) return { stored: false };
          this.record = { state: structuredClone(state), version: (version ?? 0) + 1 };
          return { stored: true, version: (version ?? 0) + 1 };
        },
      },
      change,
      this.counters,
      this.options,
    );
  }
}
