import { type ActivityCounters, type ActivityHour, type CountedStatus, countedStatuses } from "./ports.js";

const hourMs = 3600_000;

interface Batch {
  clientId: string;
  hourStartMs: number;
  counts: Record<CountedStatus, number>;
  waiters: { resolve(): void; reject(error: unknown): void }[];
}

/**
 * Group commit for the overview's counters: the counts a process adds to one client's hour while a write
 * for it is under way go out together in the next write, one at a time per hour and client. However many
 * messages a process dispatches at once, it has one writer per counter; each `add` resolves once a write
 * holding its count has been stored (or rejects with that write's error).
 */
export class CoalescingCounters implements ActivityCounters {
  private readonly pending = new Map<string, Batch>();
  private readonly writing = new Set<string>();

  constructor(private readonly inner: ActivityCounters) {}

  add(clientId: string, at: Date, counts: Partial<Record<CountedStatus, number>>): Promise<void> {
    const hourStartMs = Math.floor(at.getTime() / hourMs) * hourMs;
    const key = `${clientId}~${hourStartMs}`;
    const batch = this.pending.get(key) ?? {
      clientId,
      hourStartMs,
      counts: { sent: 0, failed: 0, deferred: 0 },
      waiters: [],
    };
    for (const status of countedStatuses) batch.counts[status] += counts[status] ?? 0;
    this.pending.set(key, batch);
    const stored = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (!this.writing.has(key)) void this.write(key);
    return stored;
  }

  read(from: Date, to: Date): Promise<ActivityHour[]> {
    return this.inner.read(from, to);
  }

  /** Writes the key's pending batch, and the one gathered meanwhile, until none is left. Never throws. */
  private async write(key: string): Promise<void> {
    this.writing.add(key);
    try {
      for (let batch = this.pending.get(key); batch; batch = this.pending.get(key)) {
        this.pending.delete(key);
        try {
          await this.inner.add(batch.clientId, new Date(batch.hourStartMs), batch.counts);
          for (const waiter of batch.waiters) waiter.resolve();
        } catch (error) {
          for (const waiter of batch.waiters) waiter.reject(error);
        }
      }
    } finally {
      this.writing.delete(key);
    }
  }
}
