import type { StatusRecord } from "../domain/statusRecord.js";
import { type ActivityCounters, countedStatuses, type StatusStore, type TimeScanQuery } from "./ports.js";

/**
 * A StatusStore that counts, for the overview, every move of a message into sent, failed or deferred: the
 * counters see each status change where it is stored, whichever use case made it. A count that cannot be
 * written is reported to `onError` and dropped; the status change itself stands.
 */
export class CountingStatusStore implements StatusStore {
  constructor(
    private readonly inner: StatusStore,
    private readonly counters: ActivityCounters,
    private readonly onError: (error: unknown) => void,
  ) {}

  create(record: StatusRecord): Promise<void> {
    return this.inner.create(record);
  }

  get(clientId: string, id: string): Promise<StatusRecord | undefined> {
    return this.inner.get(clientId, id);
  }

  async update(
    clientId: string,
    id: string,
    change: (current: StatusRecord) => StatusRecord | undefined,
  ): Promise<StatusRecord | undefined> {
    // The store may call `change` more than once (lost races); the last call is the one it stored.
    let before: StatusRecord | undefined;
    let changed = false;
    const stored = await this.inner.update(clientId, id, (current) => {
      before = current;
      const next = change(current);
      changed = next !== undefined;
      return next;
    });
    const status = countedStatuses.find((s) => s === stored?.status);
    if (stored && changed && status && before?.status !== status)
      await this.counters.add(clientId, new Date(stored.updatedAt), { [status]: 1 }).catch(this.onError);
    return stored;
  }

  listStale(...args: Parameters<StatusStore["listStale"]>): Promise<StatusRecord[]> {
    return this.inner.listStale(...args);
  }

  delete(clientId: string, id: string): Promise<void> {
    return this.inner.delete(clientId, id);
  }

  listWithContent(): AsyncIterable<string> {
    return this.inner.listWithContent();
  }

  scanByTime(clientId: string, query: TimeScanQuery) {
    return this.inner.scanByTime(clientId, query);
  }

  reindex(clientId: string) {
    return this.inner.reindex(clientId);
  }
}
