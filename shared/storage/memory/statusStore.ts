import type { MessageStatus, StatusRecord } from "../../domain/statusRecord.js";
import {
  InvalidResumeError,
  StatusConflictError,
  type StatusStore,
  type TimeScanPage,
  type TimeScanQuery,
} from "../ports.js";
import { timeBound, timeKey, timeKeyPattern } from "../timeKey.js";

/** In-memory StatusStore; records are copied in and out so callers cannot alias stored state. */
export class MemoryStatusStore implements StatusStore {
  readonly records = new Map<string, StatusRecord>();

  async create(record: StatusRecord): Promise<void> {
    const key = `${record.clientId}/${record.id}`;
    if (this.records.has(key)) throw new StatusConflictError(record.id);
    this.records.set(key, structuredClone(record));
  }

  async get(clientId: string, id: string): Promise<StatusRecord | undefined> {
    const record = this.records.get(`${clientId}/${id}`);
    return record && structuredClone(record);
  }

  async update(
    clientId: string,
    id: string,
    change: (current: StatusRecord) => StatusRecord | undefined,
  ): Promise<StatusRecord | undefined> {
    // Read, change and write with no await in between: the in-memory equivalent of an ETag check.
    const stored = this.records.get(`${clientId}/${id}`);
    if (!stored) return undefined;
    const current = structuredClone(stored);
    const next = change(current);
    if (!next) return current;
    this.records.set(`${clientId}/${id}`, structuredClone(next));
    return structuredClone(next);
  }

  async listStale(
    status: MessageStatus,
    before: Date,
    limit: number,
    options: { withBlobs?: boolean } = {},
  ): Promise<StatusRecord[]> {
    return [...this.records.values()]
      .filter((r) => r.status === status && Date.parse(r.updatedAt) < before.getTime())
      .filter((r) => !options.withBlobs || r.hasBlobs)
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async delete(clientId: string, id: string): Promise<void> {
    this.records.delete(`${clientId}/${id}`);
  }

  async *listWithContent(): AsyncIterable<string> {
    for (const record of [...this.records.values()]) if (record.hasBlobs) yield record.id;
  }

  async scanByTime(clientId: string, query: TimeScanQuery): Promise<TimeScanPage> {
    const resume = query.resume;
    if (resume !== undefined && !(resume.startsWith("k:") && timeKeyPattern.test(resume.slice(2))))
      throw new InvalidResumeError();
    const after = resume?.slice(2);
    const low = query.createdBefore && timeBound(query.createdBefore.getTime());
    const high = query.createdFrom && timeBound(query.createdFrom.getTime());
    const candidates = [...this.records.values()]
      .filter((r) => r.clientId === clientId)
      .map((record) => ({ key: timeKey(record.createdAt, record.id), record }))
      .filter(
        ({ key }) => (after === undefined || key > after) && (!low || key > low) && (!high || key < high),
      )
      .filter(({ record }) => !query.status || record.status === query.status)
      .filter(({ record }) => !query.mailbox || record.mailbox.toLowerCase() === query.mailbox.toLowerCase())
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    const entries: TimeScanPage["entries"] = [];
    let seen: string | undefined;
    for (const [index, candidate] of candidates.entries()) {
      seen = candidate.key;
      if (query.match && !query.match(candidate.record)) continue;
      entries.push({ key: candidate.key, record: structuredClone(candidate.record) });
      if (entries.length >= query.limit) {
        const more = index < candidates.length - 1;
        return { entries, seen, ...(more ? { resume: `k:${seen}` } : {}) };
      }
    }
    return { entries, ...(seen ? { seen } : {}) };
  }

  /** The fake's index is its records themselves: nothing to repair. */
  async reindex(): Promise<{ checked: number; repaired: number; done: boolean }> {
    return { checked: this.records.size, repaired: 0, done: true };
  }
}
