import { type IdempotencyRecord, isLive } from "../../domain/idempotency.js";
import type { IdempotencyStore } from "../ports.js";

/** In-memory IdempotencyStore for unit tests; same contract as the Table adapter. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();

  async claim(
    clientId: string,
    key: string,
    record: IdempotencyRecord,
    now: Date,
  ): Promise<IdempotencyRecord> {
    const slot = `${clientId}\n${key}`;
    const held = this.records.get(slot);
    if (held && isLive(held, now)) return held;
    this.records.set(slot, record);
    return record;
  }

  async release(clientId: string, key: string, messageId: string): Promise<void> {
    const slot = `${clientId}\n${key}`;
    if (this.records.get(slot)?.messageId === messageId) this.records.delete(slot);
  }

  async purgeBefore(before: Date, limit: number): Promise<number> {
    const stale = [...this.records]
      .filter(([, r]) => Date.parse(r.createdAt) < before.getTime())
      .slice(0, limit);
    for (const [slot] of stale) this.records.delete(slot);
    return stale.length;
  }
}
