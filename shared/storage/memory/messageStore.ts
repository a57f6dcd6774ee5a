import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import type { MessageStore } from "../ports.js";

/** In-memory MessageStore for unit tests; passes the same contract suite as the Blob adapter. */
export class MemoryMessageStore implements MessageStore {
  readonly blobs = new Map<string, Buffer>();
  /** When each blob was last written, in epoch milliseconds (Blob storage's Last-Modified). */
  private readonly writtenAt = new Map<string, number>();

  async upload(path: string, content: Readable | Buffer): Promise<void> {
    this.blobs.set(path, Buffer.isBuffer(content) ? content : await buffer(content));
    this.writtenAt.set(path, Date.now());
  }

  async download(path: string): Promise<Readable> {
    const bytes = this.blobs.get(path);
    if (!bytes) throw new Error(`blob ${path} not found`);
    return Readable.from([bytes]);
  }

  async deleteMessage(id: string): Promise<void> {
    for (const path of await this.list(id)) {
      this.blobs.delete(path);
      this.writtenAt.delete(path);
    }
  }

  async list(id: string): Promise<string[]> {
    return [...this.blobs.keys()].filter((path) => path.startsWith(`${id}/`));
  }

  async *listStale(before: Date): AsyncIterable<string> {
    const newest = new Map<string, number>();
    for (const [path, at] of this.writtenAt) {
      const slash = path.indexOf("/");
      if (slash < 0) continue;
      const id = path.slice(0, slash);
      newest.set(id, Math.max(newest.get(id) ?? 0, at));
    }
    for (const [id, at] of newest) if (at < before.getTime()) yield id;
  }
}
