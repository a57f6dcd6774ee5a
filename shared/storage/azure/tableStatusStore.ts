import {
  odata,
  RestError,
  type TableClient,
  type TableEntity,
  type TransactionAction,
} from "@azure/data-tables";
import { z } from "zod";
import {
  type MessageStatus,
  type StatusRecord,
  storedStatusRecordSchema,
} from "../../domain/statusRecord.js";
import {
  InvalidResumeError,
  StatusConflictError,
  type StatusStore,
  type TimeScanPage,
  type TimeScanQuery,
} from "../ports.js";
import { RecentVersions } from "../recentVersions.js";
import { idOfTimeKey, timeBound, timeKey, timeKeyPattern, timeKeyRange } from "../timeKey.js";
import { ignoreNotFound } from "./restErrors.js";

// A record: `status` and `hasBlobs` are columns of their own so retention can filter on them server-side.
type StatusEntity = TableEntity<{ status: string; hasBlobs: boolean; record: string }>;

/**
 * A record's entry in the time index, in the record's own partition under a `~t~` key: a copy of the
 * record (so a list needs no further reads) with its filter columns named `s` and `m`, so that retention's
 * `status eq …` scans (this release's and the previous one's) never take an index entry for a record.
 * Azure's "intra-partition secondary index pattern": both are written in one entity group transaction, so
 * the index never disagrees with the record and costs no extra request.
 * https://learn.microsoft.com/azure/storage/tables/table-storage-design-patterns#intra-partition-secondary-index-pattern
 */
type IndexEntity = TableEntity<{ s: string; m: string; record: string }>;

/** Where the reindexing of a client got to, in a partition of its own (never listed with records). Version 1. */
const markerSchema = z.object({ v: z.literal(1), checkedBefore: z.string() });
const markerPartition = "~meta";
const markerRow = (clientId: string) => `index~${clientId}`;

/** How far one scan reads: requests before it hands back a resume point, and entities per request. */
export interface ScanBudget {
  requests: number;
  /** Page size when the store filters after reading (a text search); else the query's limit. */
  pageSize: number;
}
// A filter that matches little reads far: five pages of up to 1,000 (the service's maximum) per call.
const defaultScanBudget: ScanBudget = { requests: 5, pageSize: 1000 };
// Records one reindex call repairs at most; the rest goes in the next call.
const repairsPerCall = 2000;
// Entity timestamps are the service's clock: look back this much further than the last run began.
const clockMarginMs = 3600_000;
/**
 * Records whose last version (and ETag) this process remembers: the messages one instance has in hand (the
 * queue trigger's batch and the next one), so that a dispatcher's moves to sending and then sent write without
 * reading first. A record is a few KiB (its timeline is capped at 50 entries).
 */
export const recentRecords = 256;

export class AzureTableStatusStore implements StatusStore {
  // Kept as the stored JSON, so that no caller's change to a record it was handed can alter the remembered one.
  private readonly recent: RecentVersions<string, string>;

  constructor(
    private readonly table: TableClient,
    private readonly budget: ScanBudget = defaultScanBudget,
    /** Records remembered with their ETags (0: every update reads the record first). */
    remembered: number = recentRecords,
  ) {
    this.recent = new RecentVersions(remembered);
  }

  async create(record: StatusRecord): Promise<void> {
    try {
      const response = await this.table.submitTransaction([
        ["create", toEntity(record)],
        ["create", toIndexEntity(record)],
      ]);
      this.recent.set(recordKey(record), JSON.stringify(record), response.subResponses[0]?.etag);
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 409) throw new StatusConflictError(record.id);
      throw error;
    }
  }

  async get(clientId: string, id: string): Promise<StatusRecord | undefined> {
    return (await this.read(clientId, id))?.record;
  }

  async update(
    clientId: string,
    id: string,
    change: (current: StatusRecord) => StatusRecord | undefined,
  ): Promise<StatusRecord | undefined> {
    // Optimistic concurrency: a stale ETag answers 412; re-read and re-apply, with jitter, a bounded number of
    // times. The first try may use the version this process last read or wrote, without reading: only a write
    // is taken from it (under its ETag); "nothing to change" is only answered from a version just read.
    const key = recordKey({ clientId, id });
    let remembered = this.recent.get(key);
    for (let attempt = 1; ; attempt++) {
      const current = remembered
        ? { record: parseRecord(remembered.state), etag: remembered.version }
        : await this.read(clientId, id);
      if (!current) return undefined;
      const next = change(current.record);
      if (!next) {
        if (!remembered) return current.record;
        remembered = undefined;
        continue;
      }
      try {
        this.recent.set(key, JSON.stringify(next), await this.writeBoth(current.record, next, current.etag));
        return next;
      } catch (error) {
        this.recent.delete(key, current.etag);
        // 404: deleted meanwhile (retention); the read that follows says so.
        const lost = error instanceof RestError && (error.statusCode === 412 || error.statusCode === 404);
        if (!lost || attempt >= 10) throw error;
        // A remembered version that had gone stale is no race with a live writer: read again at once.
        if (!remembered) await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
        remembered = undefined;
      }
    }
  }

  async listStale(
    status: MessageStatus,
    before: Date,
    limit: number,
    options: { withBlobs?: boolean } = {},
  ): Promise<StatusRecord[]> {
    // A cross-partition scan on the entity's own last-modified time: fine for a daily clean-up.
    const filter = options.withBlobs
      ? odata`status eq ${status} and hasBlobs eq true and Timestamp lt ${before}`
      : odata`status eq ${status} and Timestamp lt ${before}`;
    const pages = this.table
      .listEntities<StatusEntity>({ queryOptions: { filter } })
      .byPage({ maxPageSize: limit });
    for await (const page of pages) {
      return page.map((entity) => storedStatusRecordSchema.parse(JSON.parse(entity.record)));
    }
    return [];
  }

  async delete(clientId: string, id: string): Promise<void> {
    const current = await this.read(clientId, id);
    this.recent.delete(recordKey({ clientId, id }));
    if (!current) return;
    try {
      await this.table.submitTransaction([
        ["delete", toEntity(current.record)],
        ["delete", toIndexEntity(current.record)],
      ]);
    } catch (error) {
      // No index entry (a record of an older release not reindexed yet): the record goes alone.
      if (!(error instanceof RestError && error.statusCode === 404)) throw error;
      await this.table.deleteEntity(clientId, id).catch(ignoreNotFound);
    }
  }

  async *listWithContent(): AsyncIterable<string> {
    // A cross-partition scan of one column, like listStale's: the daily sweep's, not a request's.
    const entities = this.table.listEntities<{ hasBlobs: boolean }>({
      queryOptions: { filter: odata`hasBlobs eq true`, select: ["RowKey"] },
    });
    for await (const entity of entities) if (entity.rowKey) yield entity.rowKey;
  }

  async scanByTime(clientId: string, query: TimeScanQuery): Promise<TimeScanPage> {
    const { after, token } = parseResume(query.resume);
    // The tightest lower bound: past the index's start, the resume point and the creation-time limit.
    const low = [timeKeyRange.low, after, query.createdBefore && timeBound(query.createdBefore.getTime())]
      .filter((k): k is string => k !== undefined)
      .sort()
      .at(-1);
    const high = query.createdFrom ? timeBound(query.createdFrom.getTime()) : timeKeyRange.high;
    let filter = odata`PartitionKey eq ${clientId} and RowKey gt ${low} and RowKey lt ${high}`;
    if (query.status) filter += odata` and s eq ${query.status}`;
    if (query.mailbox) filter += odata` and m eq ${query.mailbox.toLowerCase()}`;
    const pages = this.table
      .listEntities<IndexEntity>({ queryOptions: { filter } })
      .byPage({ maxPageSize: query.match ? this.budget.pageSize : query.limit, continuationToken: token });
    const entries: TimeScanPage["entries"] = [];
    let seen: string | undefined;
    let requests = 0;
    for await (const page of pages) {
      requests++;
      for (const entity of page) {
        seen = entity.rowKey;
        const record = storedStatusRecordSchema.parse(JSON.parse(entity.record));
        if (query.match && !query.match(record)) continue;
        entries.push({ key: entity.rowKey ?? "", record });
        if (entries.length >= query.limit) return { entries, seen, resume: `k:${seen}` };
      }
      if (!page.continuationToken) return { entries, ...(seen ? { seen } : {}) };
      if (requests >= this.budget.requests)
        return { entries, ...(seen ? { seen } : {}), resume: `t:${page.continuationToken}` };
    }
    return { entries, ...(seen ? { seen } : {}) };
  }

  async reindex(clientId: string): Promise<{ checked: number; repaired: number; done: boolean }> {
    const startedMs = Date.now();
    const marker = await this.table
      .getEntity<{ marker: string }>(markerPartition, markerRow(clientId))
      .then((entity) => markerSchema.parse(JSON.parse(entity.marker)))
      .catch((error: unknown) => {
        if (error instanceof RestError && error.statusCode === 404) return undefined;
        throw error;
      });
    const since = marker ? new Date(Date.parse(marker.checkedBefore)) : undefined;
    // Every write of this release changes a record and its index entry in one transaction, with one
    // timestamp: a record changed since without a matching index change was written by an older release.
    const recent = (from: string, to: string) =>
      since
        ? odata`PartitionKey eq ${clientId} and RowKey gt ${from} and RowKey lt ${to} and Timestamp ge ${since}`
        : odata`PartitionKey eq ${clientId} and RowKey gt ${from} and RowKey lt ${to}`;
    const indexed = new Set<string>();
    for await (const entity of this.table.listEntities({
      queryOptions: { filter: recent(timeKeyRange.low, timeKeyRange.high), select: ["RowKey"] },
    }))
      indexed.add(idOfTimeKey(entity.rowKey ?? ""));
    let checked = 0;
    let repaired = 0;
    for await (const entity of this.table.listEntities({
      queryOptions: { filter: recent("", "~"), select: ["RowKey"] },
    })) {
      checked++;
      const id = entity.rowKey ?? "";
      if (indexed.has(id)) continue;
      if (repaired >= repairsPerCall) return { checked, repaired, done: false };
      // Rewrite the record as it is, with its index entry, under its ETag: a change meanwhile wins and
      // writes the index itself.
      const current = await this.read(clientId, id);
      if (current)
        await this.writeBoth(current.record, current.record, current.etag)
          .then((etag) => this.recent.set(recordKey(current.record), JSON.stringify(current.record), etag))
          .catch((error: unknown) => {
            if (!(error instanceof RestError && error.statusCode === 412)) throw error;
          });
      repaired++;
    }
    const checkedBefore = new Date(startedMs - clockMarginMs).toISOString();
    await this.table.upsertEntity(
      {
        partitionKey: markerPartition,
        rowKey: markerRow(clientId),
        marker: JSON.stringify(markerSchema.parse({ v: 1, checkedBefore })),
      },
      "Replace",
    );
    return { checked, repaired, done: true };
  }

  /**
   * The record and its index entry in one transaction; the record only if it still has `etag`. Resolves to the
   * record's new ETag (the first sub-response: answers come in the order of the operations).
   */
  private async writeBoth(
    current: StatusRecord,
    next: StatusRecord,
    etag: string,
  ): Promise<string | undefined> {
    // The index key follows `createdAt`, which no change alters; keep the current one regardless.
    const actions: TransactionAction[] = [
      ["update", toEntity(next), "Replace", { etag }],
      ["upsert", toIndexEntity({ ...next, createdAt: current.createdAt }), "Replace"],
    ];
    const response = await this.table.submitTransaction(actions);
    return response.subResponses[0]?.etag;
  }

  private async read(
    clientId: string,
    id: string,
  ): Promise<{ record: StatusRecord; etag: string } | undefined> {
    const key = recordKey({ clientId, id });
    try {
      const entity = await this.table.getEntity<StatusEntity>(clientId, id);
      const record = parseRecord(entity.record);
      this.recent.set(key, entity.record, entity.etag);
      return { record, etag: entity.etag };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) {
        this.recent.delete(key);
        return undefined;
      }
      throw error;
    }
  }
}

const parseRecord = (json: string): StatusRecord => storedStatusRecordSchema.parse(JSON.parse(json));
const recordKey = (record: Pick<StatusRecord, "clientId" | "id">) => `${record.clientId}/${record.id}`;

function toEntity(record: StatusRecord): StatusEntity {
  return {
    partitionKey: record.clientId,
    rowKey: record.id,
    hasBlobs: record.hasBlobs,
    status: record.status,
    record: JSON.stringify(record),
  };
}

function toIndexEntity(record: StatusRecord): IndexEntity {
  return {
    partitionKey: record.clientId,
    rowKey: timeKey(record.createdAt, record.id),
    s: record.status,
    m: record.mailbox.toLowerCase(),
    record: JSON.stringify(record),
  };
}

// The SDK's continuation token: base64 of JSON naming the next partition and row (opaque values the service
// hands out). Its shape is checked; the query it resumes still filters on this client's partition.
const continuationSchema = z.object({ nextPartitionKey: z.string(), nextRowKey: z.string().optional() });

/** A scan's resume point: after a key (`k:`), or the service's continuation (`t:`). */
function parseResume(resume: string | undefined): { after?: string; token?: string } {
  if (resume === undefined) return {};
  if (resume.startsWith("k:") && timeKeyPattern.test(resume.slice(2))) return { after: resume.slice(2) };
  if (resume.startsWith("t:") && resume.length <= 4096) {
    const token = resume.slice(2);
    try {
      continuationSchema.parse(JSON.parse(Buffer.from(token, "base64").toString("utf8")));
      return { token };
    } catch {
      // not one of ours
    }
  }
  throw new InvalidResumeError();
}
