import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import type { MessageStore } from "../ports.js";

/** In-memory MessageStore for unit tests; passes the same contract suite as the Blob adapter. */
export class MemoryMessageStore implements MessageStore {
  readonly blobs = new Map<string, Buffer>();

  async upload(path: string, content: Readable | Buffer): Promise<void> {
    this.blobs.set(path, Buffer.isBuffer(content) ? content : await buffer(content));
  }

  async download(path: string): Promise<Readable> {
    const bytes = this.blobs.get(path);
    if (!bytes) throw new Error(`blob ${path} not found`);
    return Readable.from([bytes]);
  }

  async deleteMessage(id: string): Promise<void> {
    for (const path of await this.list(id)) this.blobs.delete(path);
  }

  async list(id: string): Promise<string[]> {
    return [...this.blobs.keys()].filter((path) => path.startsWith(`${id}/`));
  }
}
