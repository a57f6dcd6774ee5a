import { Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { Joiner, Splitter, type SplitterChunk } from "@zone-eu/mailsplit";
import addressparser from "nodemailer/lib/addressparser";
import LeWindows from "nodemailer/lib/mime-node/le-windows.js";
import { messageIdFor } from "../domain/outbound.js";
import { ProblemError } from "../domain/problem.js";
import type { MessageStore } from "../storage/ports.js";
import { type BodyLimits, ByteMeter, limitedBody } from "./body.js";
import { Spool } from "./spool.js";

/** Small MIME travels inline in its queue message (base64 takes it to about 43 KiB of the 48 KiB there). */
export const inlineMimeLimitBytes = 32 * 1024;

/** What intake learned while a MIME body streamed in. */
export interface StreamedMime {
  /** `{id}/message.eml`: the MIME as it will be sent, when it is larger than `inlineMimeLimitBytes` ... */
  blob?: string;
  /** ... else the MIME itself, in base64. */
  contentBase64?: string;
  size: number;
  sha256: string;
  /** SHA-256 of the bytes as they arrived. */
  sourceSha256: string;
  /** The top-level header block as it arrived (Bcc included), parsed once the bytes are stored. */
  headerBlock: Buffer;
  /** The Message-ID header the sender wrote, if it wrote one. */
  ownMessageId?: string;
  /** The Message-ID the stored MIME carries: the sender's own, or the one added here. */
  messageId: string;
}

export interface StreamMimeOptions {
  /** The largest body accepted; more is a 413 as soon as it arrives. */
  limits: BodyLimits;
  /** The envelope sender, if given: the domain of an added Message-ID. */
  envelopeFrom?: string;
  now: Date;
}

/**
 * Streams a `message/rfc822` body into Blob storage as `{id}/message.eml` (or keeps it when it is small),
 * never holding it whole: the bytes
 * go through unchanged except in the top-level header block, where, as a submission server may
 * (RFC 6409 section 8), a Message-ID and a Date are added when missing, and a Bcc header is removed
 * (RFC 5322 section 3.6.3: Bcc recipients travel in the envelope only); line ends become CRLF (RFC 5322
 * section 2.1, so bare-LF devices send as well). On error the caller deletes `{id}/`.
 */
export async function streamMime(
  body: ReadableStream<Uint8Array> | null,
  id: string,
  store: MessageStore,
  options: StreamMimeOptions,
): Promise<StreamedMime> {
  const blob = `${id}/message.eml`;
  const received = new ByteMeter();
  const stored = new ByteMeter();
  const top: { headerBlock?: Buffer; ownMessageId?: string; messageId?: string } = {};
  const rewrite = new Transform({
    objectMode: true,
    transform(chunk: SplitterChunk, _encoding, done: TransformCallback) {
      if (chunk.type === "node" && chunk.root && chunk.headers && top.headerBlock === undefined) {
        const headers = chunk.headers;
        top.headerBlock = chunk.getHeaders();
        const own = headers.getFirst("message-id");
        if (own) {
          top.ownMessageId = own;
          top.messageId = own;
        } else {
          const [author] = addressparser(headers.getFirst("from"), { flatten: true });
          top.messageId = messageIdFor(id, options.envelopeFrom ?? author?.address ?? "x@mailhook.invalid");
          headers.remove("message-id");
          headers.add("Message-ID", top.messageId);
        }
        if (!headers.getFirst("date")) {
          headers.remove("date");
          headers.add("Date", options.now.toUTCString().replace(/GMT$/, "+0000"));
        }
        if (headers.hasHeader("bcc")) headers.remove("bcc");
      }
      done(null, chunk);
    },
  });
  const source = limitedBody(body, options.limits);
  const spool = new Spool(inlineMimeLimitBytes, (stream) => store.upload(blob, stream, "message/rfc822"));
  try {
    await pipeline(source, received, new Splitter(), rewrite, new Joiner(), new LeWindows(), stored, spool);
  } catch (error) {
    source.destroy();
    if (error instanceof ProblemError) throw error;
    // mailsplit's limits (a header block over 1 MiB, more than 1,000 parts) are the caller's to fix.
    if ((error as NodeJS.ErrnoException).code === "EMAXLEN") {
      throw new ProblemError("badRequest", `The body is not a readable MIME message: ${errorText(error)}.`, {
        extensions: { field: "body" },
      });
    }
    throw error;
  }
  if (top.headerBlock === undefined || top.messageId === undefined || received.bytes === 0) {
    throw new ProblemError("badRequest", "The body is empty: a message/rfc822 body is a MIME message.", {
      extensions: { field: "body" },
    });
  }
  const inline = spool.inline();
  return {
    ...(inline ? { contentBase64: inline.toString("base64") } : { blob }),
    size: stored.bytes,
    sha256: stored.sha256(),
    sourceSha256: received.sha256(),
    headerBlock: top.headerBlock,
    ...(top.ownMessageId ? { ownMessageId: top.ownMessageId } : {}),
    messageId: top.messageId,
  };
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
