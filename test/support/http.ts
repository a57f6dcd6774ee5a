import { Readable } from "node:stream";
import { ReadableStream } from "node:stream/web";
import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";
import { type ApiRequest, handle, type Route } from "../../shared/api/http.js";
import { dispatchMessage } from "../../shared/app/dispatchMessage.js";
import type { Composed } from "../../shared/host/compose.js";
import { silentLogger } from "../../shared/log.js";
import type { StorageNames } from "../../shared/storage/azure/account.js";

export interface CallOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  params?: Record<string, string>;
  /** The caller's address as the host would give it. */
  source?: string;
}

/** Calls one route in process, as the Functions host or the local host would, and parses the answer. */
export async function call(route: Route, composed: Pick<Composed, "services">, options: CallOptions = {}) {
  // ReadableStream.from, not Readable.toWeb: Node 20's toWeb can close its controller twice when the handler
  // cancels half way (ERR_INVALID_STATE as an uncaught error).
  const body =
    options.body === undefined
      ? null
      : ReadableStream.from<Uint8Array>(
          options.body instanceof Readable ? options.body : [Buffer.from(options.body)],
        );
  const request: ApiRequest = {
    method: options.method ?? route.methods[0] ?? "GET",
    url: `http://127.0.0.1:7071${options.path ?? `/${route.route}`}`,
    headers: new Headers(options.headers),
    params: options.params ?? {},
    body,
    source: options.source ?? "127.0.0.1",
  };
  const response = await handle(route, request, composed.services, silentLogger);
  const isJson = /json/.test(response.headers["Content-Type"] ?? "");
  const json = response.body && isJson ? (JSON.parse(response.body) as Record<string, unknown>) : undefined;
  // RFC 9457 §3.1.4: a problem's `status` is the HTTP status code; every in-process call holds it to that.
  if (
    response.headers["Content-Type"]?.startsWith("application/problem+json") &&
    json?.status !== response.status
  )
    throw new Error(`problem body says status ${String(json?.status)}, the answer is ${response.status}`);
  return { ...response, json };
}

export function bearer(key: string, headers: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${key}`, ...headers };
}

/** Runs the dispatcher over every visible queue message once, deleting those it handled without error. */
export async function drainOnce(composed: Composed): Promise<number> {
  const queue = composed.storage.queueClient;
  const { receivedMessageItems } = await queue.receiveMessages({
    numberOfMessages: 32,
    visibilityTimeout: 60,
  });
  for (const message of receivedMessageItems) {
    const item = JSON.parse(Buffer.from(message.messageText, "base64").toString("utf8"));
    await dispatchMessage(item, composed.dispatchDeps(silentLogger), { queueMessageId: message.messageId });
    await queue.deleteMessage(message.messageId, message.popReceipt);
  }
  return receivedMessageItems.length;
}

/** What a test storage account holds: every blob, queue message and status record. */
export async function storageContents(connection: string, names: StorageNames) {
  const container = BlobServiceClient.fromConnectionString(connection).getContainerClient(names.container);
  const blobs: string[] = [];
  for await (const blob of container.listBlobsFlat()) blobs.push(blob.name);
  const queue = QueueServiceClient.fromConnectionString(connection).getQueueClient(names.queue);
  const { approximateMessagesCount = 0 } = await queue.getProperties();
  const table = TableClient.fromConnectionString(connection, names.table, { allowInsecureConnection: true });
  // Status records only: the time index keeps a copy of each under a `~` key in the same partition.
  let records = 0;
  for await (const entity of table.listEntities()) if (!entity.rowKey?.startsWith("~")) records++;
  return { blobs, queued: approximateMessagesCount, records };
}
