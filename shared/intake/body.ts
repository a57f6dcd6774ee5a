import { createHash } from "node:crypto";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import { ProblemError } from "../domain/problem.js";

/**
 * How much a request may carry: `messageBytes` is the message limit (`MAX_MESSAGE_BYTES`), `bodyBytes` the
 * largest body that can hold such a message once encoded (base64 and form fields included).
 */
export interface BodyLimits {
  bodyBytes: number;
  messageBytes: number;
}

/**
 * The request body stopped before its end because the caller went away (a device that lost its network, a
 * client that gave up): nobody is left to answer, and it is no fault of ours, so it is logged at info.
 */
export class ClientAbortedError extends Error {
  constructor(cause: unknown) {
    super(`the client aborted the request: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "ClientAbortedError";
  }
}

/**
 * The one way intake reads a request body, whatever its content type (JSON, multipart, raw MIME): a stream
 * that fails with 413 as soon as more than `limits.bodyBytes` have arrived, so nothing past the limit is read
 * or stored. An error of the source (the client went away) reaches the reader as a ClientAbortedError.
 *
 * It pulls from the web stream's own reader and cancels it once: `Readable.fromWeb` reads ahead, and
 * destroying it while Node's `Readable.toWeb` adapter still delivers data throws "Controller is already
 * closed" outside any handler, which would stop the process.
 */
export function limitedBody(body: ReadableStream<Uint8Array> | null, limits: BodyLimits): Readable {
  if (!body) return Readable.from([]);
  const reader = body.getReader();
  let bytes = 0;
  return new Readable({
    async read() {
      try {
        const { done, value } = await reader.read();
        if (done) {
          this.push(null);
          return;
        }
        bytes += value.byteLength;
        if (bytes > limits.bodyBytes) {
          this.destroy(messageTooLarge(limits.messageBytes));
          return;
        }
        this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      } catch (error) {
        this.destroy(new ClientAbortedError(error));
      }
    },
    destroy(error, callback) {
      reader.cancel(error ?? undefined).then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}

/**
 * The one answer for a message over the size limit, whichever check found it (a declared Content-Length, a
 * body still arriving, streamed files, decoded attachments): the limit in bytes and the setting that raises it.
 */
export function messageTooLarge(messageBytes: number, setting = "MAX_MESSAGE_BYTES"): ProblemError {
  const mib = Math.round((messageBytes / 1024 / 1024) * 10) / 10;
  return new ProblemError(
    "tooLarge",
    `The message is larger than the limit of ${messageBytes} bytes (${mib} MiB); the ${setting} setting raises it.`,
    { extensions: { limitBytes: messageBytes, setting } },
  );
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
