import { TableClient } from "@azure/data-tables";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import { BlobServiceClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";
import type { StorageSettings } from "../../config.js";
import { QueueArrivals } from "../queueArrivals.js";
import { AzureBlobMessageStore } from "./blobMessageStore.js";
import { AzureOutboundQueue } from "./storageQueue.js";
import { AzureTableActivityCounters } from "./tableActivityCounters.js";
import { AzureTableIdempotencyStore } from "./tableIdempotencyStore.js";
import { AzureTableLoginHistoryStore } from "./tableLoginHistoryStore.js";
import { AzureTableStatusStore, recentRecords } from "./tableStatusStore.js";
import { AzureTableTenantPacingStore } from "./tableTenantPacingStore.js";

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
  /** Hourly counts of sent, failed and deferred messages per client, sharded (the console's overview). */
  activity: string;
}

export const defaultStorageNames: StorageNames = {
  queue: "mailhook-outbound",
  poisonQueue: "mailhook-outbound-poison",
  container: "mailhook-messages",
  table: "messages",
  pacing: "pacing",
  idempotency: "idempotency",
  webhookQueue: "mailhook-webhooks",
  activity: "activity",
};

/**
 * Retries inside one storage call: a few quick ones (about 3 s in all, instead of the SDKs' half a minute
 * for Blob and Queue), so that in an outage intake answers 503 while the caller still listens and the
 * dispatcher hands the message back to the queue, which retries later anyway. Throttling (503 ServerBusy)
 * is retried the same way. https://learn.microsoft.com/azure/storage/common/storage-retry-policy
 */
const storageRetries = { maxTries: 3, retryDelayInMs: 500, maxRetryDelayInMs: 2000 };
const tableRetries = { maxRetries: 2, retryDelayInMs: 500, maxRetryDelayInMs: 2000 };

/** The Blob and Queue service clients and a Table client factory, from a connection string or a managed identity. */
function storageClients(settings: StorageSettings) {
  if (settings.kind === "identity") {
    // A user-assigned identity names its client id; otherwise the platform's default identity chain.
    const credential = settings.clientId
      ? new ManagedIdentityCredential({ clientId: settings.clientId })
      : new DefaultAzureCredential();
    return {
      blobService: new BlobServiceClient(settings.blobUri, credential, { retryOptions: storageRetries }),
      queueService: new QueueServiceClient(settings.queueUri, credential, { retryOptions: storageRetries }),
      tableClient: (name: string) =>
        new TableClient(settings.tableUri, name, credential, { retryOptions: tableRetries }),
    };
  }
  const connection = settings.connectionString;
  // Plain HTTP is allowed for the loopback emulator only (Azurite); anything else must be HTTPS.
  const allowInsecureConnection = /TableEndpoint=http:\/\/(127\.0\.0\.1|localhost)[:/]/i.test(connection);
  return {
    blobService: BlobServiceClient.fromConnectionString(connection, { retryOptions: storageRetries }),
    queueService: QueueServiceClient.fromConnectionString(connection, { retryOptions: storageRetries }),
    tableClient: (name: string) =>
      TableClient.fromConnectionString(connection, name, {
        allowInsecureConnection,
        retryOptions: tableRetries,
      }),
  };
}

/** How the adapters save requests; `remember: false` reads before every write, as the previous release did. */
export interface StorageSavings {
  remember: boolean;
}

export function azureStorage(
  settings: StorageSettings,
  names: StorageNames = defaultStorageNames,
  savings: StorageSavings = { remember: true },
) {
  const { blobService, queueService, tableClient } = storageClients(settings);
  const table = tableClient(names.table);
  const pacingTable = tableClient(names.pacing);
  const idempotencyTable = tableClient(names.idempotency);
  const activityTable = tableClient(names.activity);
  const container = blobService.getContainerClient(names.container);
  const queue = queueService.getQueueClient(names.queue);
  const poisonQueue = queueService.getQueueClient(names.poisonQueue);
  const webhookQueue = queueService.getQueueClient(names.webhookQueue);
  // What this process puts on its queues, for the local host's triggers (under the Functions host, nobody listens).
  const arrivals = new QueueArrivals();
  return {
    names,
    queueClient: queue,
    poisonQueueClient: poisonQueue,
    webhookQueueClient: webhookQueue,
    /** Any queue of this account, by name (the local host's poison-of-poison queue, tests' probes). */
    queueClientFor: (name: string) => queueService.getQueueClient(name),
    messages: new AzureBlobMessageStore(container),
    statuses: new AzureTableStatusStore(table, undefined, savings.remember ? recentRecords : 0),
    queue: new AzureOutboundQueue(queue, arrivals),
    webhookQueue: new AzureOutboundQueue(webhookQueue, arrivals),
    arrivals,
    idempotency: new AzureTableIdempotencyStore(idempotencyTable),
    activity: new AzureTableActivityCounters(activityTable, Math.random, savings.remember ? 64 : 0),
    /** The pacing table; shared/pacing wraps it in its store. */
    pacingTable,
    savings,
    /** The tenant-wide pacing state (external recipient limit), in the pacing table. */
    tenantPacing: new AzureTableTenantPacingStore(pacingTable),
    /** Password logins that worked, beside each mailbox's pacing record. */
    logins: new AzureTableLoginHistoryStore(pacingTable),
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
        activityTable.createTable(),
      ]);
    },
  };
}

export type AzureStorage = ReturnType<typeof azureStorage>;
