import { type ActivityCounters, type ActivityHour, type CountedStatus, countedStatuses } from "../ports.js";

const hourMs = 3600_000;

/** In-memory ActivityCounters: one sum per client and hour. */
export class MemoryActivityCounters implements ActivityCounters {
  private readonly hours = new Map<string, ActivityHour>();

  async add(clientId: string, at: Date, counts: Partial<Record<CountedStatus, number>>): Promise<void> {
    const hourStartMs = Math.floor(at.getTime() / hourMs) * hourMs;
    const key = `${hourStartMs}~${clientId}`;
    const hour = this.hours.get(key) ?? {
      hourStartMs,
      clientId,
      counts: { sent: 0, failed: 0, deferred: 0 },
    };
    for (const status of countedStatuses) hour.counts[status] += counts[status] ?? 0;
    this.hours.set(key, hour);
  }

  async read(from: Date, to: Date): Promise<ActivityHour[]> {
    return [...this.hours.values()]
      .filter((h) => h.hourStartMs >= from.getTime() && h.hourStartMs < to.getTime())
      .sort((a, b) => a.hourStartMs - b.hourStartMs)
      .map((h) => structuredClone(h));
  }
}
