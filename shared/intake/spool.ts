import { PassThrough, type Readable, Writable } from "node:stream";

/**
 * Where a streamed body ends up: kept in memory while it stays within `limitBytes` (a small message then
 * travels inline in its queue message, with no Blob storage at all), else streamed, the kept bytes first,
 * into the upload `open` starts. Memory stays bounded by `limitBytes` plus one upload's buffers.
 */
export class Spool extends Writable {
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private upload?: { stream: PassThrough; done: Promise<void> };

  constructor(
    private readonly limitBytes: number,
    private readonly open: (stream: Readable) => Promise<void>,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.upload && this.keptBytes + chunk.length <= this.limitBytes) {
      this.kept.push(chunk);
      this.keptBytes += chunk.length;
      callback();
      return;
    }
    if (!this.upload) {
      const stream = new PassThrough();
      const done = this.open(stream);
      // A failed upload stops reading: fail the spool, or the writer would wait for a drain forever.
      done.catch((error: Error) => this.destroy(error));
      this.upload = { stream, done };
      for (const piece of this.kept) stream.write(piece);
      this.kept = [];
    }
    if (this.upload.stream.write(chunk)) callback();
    else this.upload.stream.once("drain", () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.upload) {
      callback();
      return;
    }
    this.upload.stream.end();
    this.upload.done.then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.upload?.stream.destroy(error ?? undefined);
    callback(error);
  }

  /** The whole body, when it stayed within the limit; undefined when it went to the upload. */
  inline(): Buffer | undefined {
    return this.upload ? undefined : Buffer.concat(this.kept, this.keptBytes);
  }
}
