import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { odata, RestError, TableClient, type TableEntity } from "@azure/data-tables";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { type QueueClient, QueueServiceClient } from "@azure/storage-queue";
import type { StorageSettings } from "../config.js";
import {
  type IdempotencyRecord,
  type IdempotencyStore,
  idempotencyRecordSchema,
  isLive,
} from "../intake/idempotency.js";
import { type MessageStatus, type StatusRecord, statusRecordSchema } from "../status/record.js";
import {
  type MessageStore,
  type OutboundQueue,
  StatusConflictError,
  type StatusPage,
  type StatusQuery,
  type StatusStore,
} from "./ports.js";

/** The storage names; fixed in production, unique per test. */
export interface StorageNames {
  queue: string;
  poisonQueue: string;
  container: string;
  table: string;
  /** Pacing state, one entity per sending mailbox (shared/pacing). */
  pacing: string;
  /** Idempotency keys per client, kept 24 h. */
  idempotency: string;
  /** Delivery webhooks waiting to be posted (shared/webhooks). */
  webhookQueue: string;
}

export const defaultStorageNames: StorageNames = {
  queue: "mailhook-outbound",
  poisonQueue: "mailhook-outbound-poison",
  container: "mailhook-messages",
  table: "messages",
  pacing: "pacing",
  idempotency: "idempotency",
  webhookQueue: "mailhook-webhooks",
};

// Queue visibility timeouts are capped at 7 days; longer waits re-enqueue (chained) on arrival.
const maxVisibilitySeconds = 7 * 24 * 3600;

export class AzureBlobMessageStore implements MessageStore {
  constructor(private readonly container: ContainerClient) {}

  async upload(path: string, content: Readable | Buffer, contentType: string): Promise<void> {
    const blob = this.container.getBlockBlobClient(path);
    const headers = { blobHTTPHeaders: { blobContentType: contentType } };
    if (Buffer.isBuffer(content)) await blob.uploadData(content, headers);
    // 4 MiB blocks, 4 in flight: bounded memory whatever the upload size.
    else await blob.uploadStream(content, 4 * 1024 * 1024, 4, headers);
  }

  async download(path: string): Promise<Readable> {
    const response = await this.container.getBlobClient(path).download();
    if (!response.readableStreamBody) throw new Error(`blob ${path} has no body`);
    return response.readableStreamBody as Readable;
  }

  async deleteMessage(id: string): Promise<void> {
    for (const path of await this.list(id)) await this.container.deleteBlob(path).catch(ignoreNotFound);
  }

  async list(id: string): Promise<string[]> {
    const paths: string[] = [];
    for await (const blob of this.container.listBlobsFlat({ prefix: `${id}/` })) paths.push(blob.name);
    return paths;
  }
}

type StatusEntity = TableEntity<{ status: string; record: string }>;

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

  async listStale(status: MessageStatus, before: Date, limit: number): Promise<StatusRecord[]> {
    // A cross-partition scan on the entity's own last-modified time: fine for a daily clean-up.
    const filter = odata`status eq ${status} and Timestamp lt ${before}`;
    const pages = this.table
      .listEntities<StatusEntity>({ queryOptions: { filter } })
      .byPage({ maxPageSize: limit });
    for await (const page of pages) {
      return page.map((entity) => statusRecordSchema.parse(JSON.parse(entity.record)));
    }
    return [];
  }

  async delete(clientId: string, id: string): Promise<void> {
    await this.table.deleteEntity(clientId, id).catch(ignoreNotFound);
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
        records: page.map((entity) => statusRecordSchema.parse(JSON.parse(entity.record))),
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
      return { record: statusRecordSchema.parse(JSON.parse(entity.record)), etag: entity.etag };
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
    status: record.status,
    record: JSON.stringify(record),
  };
}

export class AzureOutboundQueue implements OutboundQueue {
  constructor(private readonly queue: QueueClient) {}

  async send(text: string, options: { delayMs?: number } = {}): Promise<void> {
    const delaySeconds = Math.ceil((options.delayMs ?? 0) / 1000);
    await this.queue.sendMessage(text, {
      visibilityTimeout: Math.min(Math.max(delaySeconds, 0), maxVisibilitySeconds),
      messageTimeToLive: -1, // never expire: an accepted message is never silently dropped
    });
  }
}

/** A row already deleted (404) or renewed by a new claim (412) is not ours to delete. */
function ignoreStale(error: unknown): void {
  if (error instanceof RestError && (error.statusCode === 404 || error.statusCode === 412)) return;
  throw error;
}

function ignoreNotFound(error: unknown): void {
  if (error instanceof Error && "statusCode" in error && error.statusCode === 404) return;
  throw error;
}

/** The real storage clients for one connection string. */
/** The Blob and Queue service clients and a Table client factory, from a connection string or a managed identity. */
function storageClients(settings: StorageSettings) {
  if (settings.kind === "identity") {
    // A user-assigned identity names its client id; otherwise the platform's default identity chain.
    const credential = settings.clientId
      ? new ManagedIdentityCredential({ clientId: settings.clientId })
      : new DefaultAzureCredential();
    return {
      blobService: new BlobServiceClient(settings.blobUri, credential),
      queueService: new QueueServiceClient(settings.queueUri, credential),
      tableClient: (name: string) => new TableClient(settings.tableUri, name, credential),
    };
  }
  const connection = settings.connectionString;
  // Plain HTTP is allowed for the loopback emulator only (Azurite); anything else must be HTTPS.
  const allowInsecureConnection = /TableEndpoint=http:\/\/(127\.0\.0\.1|localhost)[:/]/i.test(connection);
  return {
    blobService: BlobServiceClient.fromConnectionString(connection),
    queueService: QueueServiceClient.fromConnectionString(connection),
    tableClient: (name: string) =>
      TableClient.fromConnectionString(connection, name, { allowInsecureConnection }),
  };
}

export function azureStorage(settings: StorageSettings, names: StorageNames = defaultStorageNames) {
  const { blobService, queueService, tableClient } = storageClients(settings);
  const table = tableClient(names.table);
  const pacingTable = tableClient(names.pacing);
  const idempotencyTable = tableClient(names.idempotency);
  const container = blobService.getContainerClient(names.container);
  const queue = queueService.getQueueClient(names.queue);
  const poisonQueue = queueService.getQueueClient(names.poisonQueue);
  const webhookQueue = queueService.getQueueClient(names.webhookQueue);
  return {
    names,
    queueClient: queue,
    poisonQueueClient: poisonQueue,
    webhookQueueClient: webhookQueue,
    /** Any queue of this account, by name (the local host's poison-of-poison queue, tests' probes). */
    queueClientFor: (name: string) => queueService.getQueueClient(name),
    messages: new AzureBlobMessageStore(container),
    statuses: new AzureTableStatusStore(table),
    queue: new AzureOutboundQueue(queue),
    webhookQueue: new AzureOutboundQueue(webhookQueue),
    idempotency: new AzureTableIdempotencyStore(idempotencyTable),
    /** The pacing table; shared/pacing wraps it in its store. */
    pacingTable,
    /** Creates what is missing (Bicep declares them in Azure; Azurite starts empty). */
    async ensure(): Promise<void> {
      await Promise.all([
        container.createIfNotExists(),
        queue.createIfNotExists(),
        poisonQueue.createIfNotExists(),
        webhookQueue.createIfNotExists(),
        table.createTable(),
        pacingTable.createTable(),
        idempotencyTable.createTable(),
      ]);
    },
  };
}

export type AzureStorage = ReturnType<typeof azureStorage>;

type IdempotencyEntity = TableEntity<{ record: string }>;

/** Idempotency keys in a Table: partition = client, row = SHA-256 of the key (keys may hold characters rows cannot). */
export class AzureTableIdempotencyStore implements IdempotencyStore {
  constructor(private readonly table: TableClient) {}

  async claim(
    clientId: string,
    key: string,
    record: IdempotencyRecord,
    now: Date,
  ): Promise<IdempotencyRecord> {
    const entity: IdempotencyEntity = {
      partitionKey: clientId,
      rowKey: rowKeyOf(key),
      record: JSON.stringify(record),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.table.createEntity(entity);
        return record;
      } catch (error) {
        if (!(error instanceof RestError && error.statusCode === 409)) throw error;
      }
      const held = await this.table.getEntity<IdempotencyEntity>(clientId, entity.rowKey).catch((error) => {
        if (error instanceof RestError && error.statusCode === 404) return undefined;
        throw error;
      });
      if (held) {
        const heldRecord = idempotencyRecordSchema.parse(JSON.parse(held.record));
        if (isLive(heldRecord, now)) return heldRecord;
        // An expired claim: take it over, unless another request does so first (412), then look again.
        try {
          await this.table.updateEntity(entity, "Replace", { etag: held.etag });
          return record;
        } catch (error) {
          if (!(error instanceof RestError && error.statusCode === 412)) throw error;
        }
      }
      if (attempt >= 5) throw new Error(`idempotency key contention for client ${clientId}`);
    }
  }

  async purgeBefore(before: Date, limit: number): Promise<number> {
    const filter = odata`Timestamp lt ${before}`;
    let purged = 0;
    for await (const page of this.table
      .listEntities({ queryOptions: { filter } })
      .byPage({ maxPageSize: limit })) {
      for (const { partitionKey = "", rowKey = "", etag } of page) {
        await this.table.deleteEntity(partitionKey, rowKey, { etag }).catch(ignoreStale);
        purged++;
      }
      break;
    }
    return purged;
  }

  async release(clientId: string, key: string, messageId: string): Promise<void> {
    const rowKey = rowKeyOf(key);
    try {
      const held = await this.table.getEntity<IdempotencyEntity>(clientId, rowKey);
      if (idempotencyRecordSchema.parse(JSON.parse(held.record)).messageId !== messageId) return;
      await this.table.deleteEntity(clientId, rowKey, { etag: held.etag });
    } catch (error) {
      if (error instanceof RestError && (error.statusCode === 404 || error.statusCode === 412)) return;
      throw error;
    }
  }
}

function rowKeyOf(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}
