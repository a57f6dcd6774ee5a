import type { MessageStatus, StatusRecord } from "../../domain/statusRecord.js";
import { StatusConflictError, type StatusPage, type StatusQuery, type StatusStore } from "../ports.js";

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

  async list(clientId: string, query: StatusQuery): Promise<StatusPage> {
    const matching = [...this.records.values()]
      .filter((r) => r.clientId === clientId && (!query.status || r.status === query.status))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const start = Number(query.continuationToken ?? 0);
    const end = start + query.limit;
    return {
      records: matching.slice(start, end).map((r) => structuredClone(r)),
      ...(end < matching.length ? { continuationToken: String(end) } : {}),
    };
  }
}
