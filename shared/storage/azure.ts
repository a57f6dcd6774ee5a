import type { Readable } from "node:stream";
import { RestError, TableClient, type TableEntity } from "@azure/data-tables";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { type QueueClient, QueueServiceClient } from "@azure/storage-queue";
import { type StatusRecord, statusRecordSchema } from "../status/record.js";
import { type MessageStore, type OutboundQueue, StatusConflictError, type StatusStore } from "./ports.js";

/** The storage names; fixed in production, unique per test. */
export interface StorageNames {
  queue: string;
  poisonQueue: string;
  container: string;
  table: string;
}

export const defaultStorageNames: StorageNames = {
  queue: "mailhook-outbound",
  poisonQueue: "mailhook-outbound-poison",
  container: "mailhook-messages",
  table: "messages",
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

function ignoreNotFound(error: unknown): void {
  if (error instanceof Error && "statusCode" in error && error.statusCode === 404) return;
  throw error;
}

/** The real storage clients for one connection string. */
export function azureStorage(connection: string, names: StorageNames = defaultStorageNames) {
  const blobService = BlobServiceClient.fromConnectionString(connection);
  const queueService = QueueServiceClient.fromConnectionString(connection);
  // Plain HTTP is allowed for the loopback emulator only (Azurite); anything else must be HTTPS.
  const table = TableClient.fromConnectionString(connection, names.table, {
    allowInsecureConnection: /TableEndpoint=http:\/\/(127\.0\.0\.1|localhost)[:/]/i.test(connection),
  });
  const container = blobService.getContainerClient(names.container);
  const queue = queueService.getQueueClient(names.queue);
  const poisonQueue = queueService.getQueueClient(names.poisonQueue);
  return {
    names,
    queueClient: queue,
    poisonQueueClient: poisonQueue,
    /** Any queue of this account, by name (the local host's poison-of-poison queue, tests' probes). */
    queueClientFor: (name: string) => queueService.getQueueClient(name),
    messages: new AzureBlobMessageStore(container),
    statuses: new AzureTableStatusStore(table),
    queue: new AzureOutboundQueue(queue),
    /** Creates what is missing (Bicep declares them in Azure; Azurite starts empty). */
    async ensure(): Promise<void> {
      await Promise.all([
        container.createIfNotExists(),
        queue.createIfNotExists(),
        poisonQueue.createIfNotExists(),
        table.createTable(),
      ]);
    },
  };
}

export type AzureStorage = ReturnType<typeof azureStorage>;
