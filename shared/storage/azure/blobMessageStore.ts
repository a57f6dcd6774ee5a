import type { Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import type { MessageStore } from "../ports.js";
import { ignoreNotFound } from "./restErrors.js";

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

  async *listStale(before: Date): AsyncIterable<string> {
    // A flat listing comes in name order, so the blobs of one message (`{id}/...`) are next to each other.
    let current: { id: string; stale: boolean } | undefined;
    for await (const blob of this.container.listBlobsFlat()) {
      const slash = blob.name.indexOf("/");
      if (slash < 0) continue;
      const id = blob.name.slice(0, slash);
      if (current?.id !== id) {
        if (current?.stale) yield current.id;
        current = { id, stale: true };
      }
      if (blob.properties.lastModified >= before) current.stale = false;
    }
    if (current?.stale) yield current.id;
  }
}
