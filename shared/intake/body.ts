import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import { ProblemError } from "../domain/problem.js";

/** Reads a request body into memory, refusing with 413 as soon as it passes `limitBytes` (never reads the rest). */
export async function readLimitedBody(
  body: ReadableStream<Uint8Array> | null,
  limitBytes: number,
): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limitBytes) {
      await reader.cancel().catch(() => {});
      throw bodyTooLarge(limitBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
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
