import { odata, RestError, type TableClient, type TableEntity } from "@azure/data-tables";
import {
  type MessageStatus,
  type StatusRecord,
  storedStatusRecordSchema,
} from "../../domain/statusRecord.js";
import { StatusConflictError, type StatusPage, type StatusQuery, type StatusStore } from "../ports.js";
import { ignoreNotFound } from "./restErrors.js";

// `status` and `hasBlobs` are columns of their own so retention can filter on them server-side.
type StatusEntity = TableEntity<{ status: string; hasBlobs: boolean; record: string }>;

export class AzureTableStatusStore implements StatusStore {
  constructor(private readonly table: TableClient) {}

  async create(record: StatusRecord): Promise<void> {
    try {
      await this.table.createEntity(toEntity(record));
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
    // Optimistic concurrency: a stale ETag answers 412; re-read and re-apply, with jitter, a bounded number of times.
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(clientId, id);
      if (!current) return undefined;
      const next = change(current.record);
      if (!next) return current.record;
      try {
        await this.table.updateEntity(toEntity(next), "Replace", { etag: current.etag });
        return next;
      } catch (error) {
        if (!(error instanceof RestError && error.statusCode === 412) || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
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
    await this.table.deleteEntity(clientId, id).catch(ignoreNotFound);
  }

  async *listWithContent(): AsyncIterable<string> {
    // A cross-partition scan of one column, like listStale's: the daily sweep's, not a request's.
    const entities = this.table.listEntities<{ hasBlobs: boolean }>({
      queryOptions: { filter: odata`hasBlobs eq true`, select: ["RowKey"] },
    });
    for await (const entity of entities) if (entity.rowKey) yield entity.rowKey;
  }

  async list(clientId: string, query: StatusQuery): Promise<StatusPage> {
    const filter = query.status
      ? odata`PartitionKey eq ${clientId} and status eq ${query.status}`
      : odata`PartitionKey eq ${clientId}`;
    const pages = this.table
      .listEntities<StatusEntity>({ queryOptions: { filter } })
      .byPage({ maxPageSize: query.limit, continuationToken: query.continuationToken });
    for await (const page of pages) {
      return {
        records: page.map((entity) => storedStatusRecordSchema.parse(JSON.parse(entity.record))),
        ...(page.continuationToken ? { continuationToken: page.continuationToken } : {}),
      };
    }
    return { records: [] };
  }

  private async read(
    clientId: string,
    id: string,
  ): Promise<{ record: StatusRecord; etag: string } | undefined> {
    try {
      const entity = await this.table.getEntity<StatusEntity>(clientId, id);
      return { record: storedStatusRecordSchema.parse(JSON.parse(entity.record)), etag: entity.etag };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }
}

function toEntity(record: StatusRecord): StatusEntity {
  return {
    partitionKey: record.clientId,
    rowKey: record.id,
    hasBlobs: record.hasBlobs,
    status: record.status,
    record: JSON.stringify(record),
  };
}
