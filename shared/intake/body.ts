import { createHash } from "node:crypto";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { ProblemError } from "../domain/problem.js";

/**
 * The one way intake reads a request body, whatever its content type (JSON, multipart, raw MIME): a stream
 * that fails with 413 as soon as more than `limitBytes` have arrived, so nothing past the limit is read or
 * stored. An error of the source (the client went away) reaches the reader too.
 */
export function limitedBody(body: ReadableStream<Uint8Array> | null, limitBytes: number): Readable {
  const source = body ? Readable.fromWeb(body) : Readable.from([]);
  let bytes = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > limitBytes) callback(bodyTooLarge(limitBytes));
      else callback(null, chunk);
    },
  });
  // The reader of `limit` sees any error of the pair; pipeline also stops the source when `limit` fails.
  pipeline(source, limit).catch(() => {});
  return limit;
}

export function bodyTooLarge(limitBytes: number): ProblemError {
  return new ProblemError("tooLarge", `The request body is larger than ${limitBytes} bytes.`, {
    extensions: { limitBytes },
  });
}

/** Passes bytes through while counting and hashing them; `onBytes` may throw to stop the stream. */
export class ByteMeter extends Transform {
  bytes = 0;
  private readonly hash = createHash("sha256");

  constructor(private readonly onBytes: (count: number) => void = () => {}) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    try {
      this.onBytes(chunk.length);
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback(null, chunk);
  }

  /** Hex SHA-256 of everything that passed; call after the stream ended. */
  sha256(): string {
    return this.hash.digest("hex");
  }
}
