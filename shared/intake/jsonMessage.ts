import { createHash } from "node:crypto";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { TextDecoder } from "node:util";
import { getManyValues, type Many, none } from "stream-chain/core";
import { jsonParser, type Token } from "stream-json/core/parser.js";
import {
  fieldName,
  type JsonMessage,
  jsonMessageSchema,
  maxAttachments,
  type StoredAttachment,
  sanitizeFileName,
} from "../domain/message.js";
import { invalidField, ProblemError } from "../domain/problem.js";
import { validate } from "../domain/validate.js";
import type { MessageStore } from "../storage/ports.js";
import { Base64Decoder } from "./base64.js";
import { type BodyLimits, limitedBody, messageTooLarge } from "./body.js";
import { JsonAssembler, type JsonBounds, type JsonPath, type StringSink } from "./jsonTokens.js";
import { Spool } from "./spool.js";

/** What streamed JSON intake needs: where the bytes go and how much the message may hold. */
export interface JsonIntake {
  id: string;
  store: MessageStore;
  limits: BodyLimits;
  /** `MAX_RECIPIENTS_PER_MESSAGE`: a message may list that many recipients, so its JSON holds that many values. */
  recipientsPerMessage: number;
}

/** A JSON message as read: its validated fields, its attachments (bytes in memory or in Blob storage). */
export interface JsonMessageRead {
  fields: JsonMessage;
  attachments: StoredAttachment[];
  /** Decoded bytes of the attachments kept in memory, by index (the others are in Blob storage already). */
  inlineBytes: Map<number, Buffer>;
}

/**
 * The bounds on what a JSON body holds outside attachments' bytes. The deepest field of a message is
 * `attachments[i].contentBytes.$content` (4 levels); a recipient takes at most 3 values (`{address, name}`),
 * and the rest of a message (subject, bodies, 10 headers, 20 metadata entries, 100 attachments' names and
 * types) fits in 1,000. Text and HTML bodies share 4 MiB: Graph refuses sendMail requests over 4 MB
 * (https://learn.microsoft.com/graph/api/user-sendmail), and what is larger belongs in an attachment.
 */
export function jsonBounds(recipientsPerMessage: number): JsonBounds {
  return { maxDepth: 16, maxValues: 1_000 + 4 * recipientsPerMessage, maxTextChars: 4 * 1024 * 1024 };
}

/**
 * Decoded attachment bytes one message keeps in memory before the next attachment streams into Blob storage
 * instead: one block of the Blob adapter's streamed upload, so an attachment that ends within it is stored
 * with one request (or travels inline in the queue message), as before, and memory stays flat.
 */
export const keptAttachmentBytes = 4 * 1024 * 1024;

// Pieces of the body fed to the parser at a time: its tokens for one piece are in memory at once.
const sliceBytes = 64 * 1024;

/** Where an attachment's bytes go when they stream into Blob storage: the path multipart intake uses too. */
export const attachmentBlob = (id: string, index: number) => `${id}/attachments/${index}`;

/**
 * Reads an `application/json` message as it arrives: attachments' `contentBytes` (base64, or a Power
 * Automate file object's `$content`) are decoded, hashed and counted against `MAX_MESSAGE_BYTES` piece by
 * piece and stream into Blob storage under `{id}/attachments/{i}` once they outgrow what is kept in memory;
 * everything else is assembled within `jsonBounds` and validated at the end with the message schema, so a
 * field such as `to` may come after the attachments. Throws the problem a caller should see; what was stored
 * under `{id}/` by then is the caller's to delete (every upload has settled when this throws).
 */
export async function readJsonMessage(
  body: ReadableStream<Uint8Array> | null,
  intake: JsonIntake,
): Promise<JsonMessageRead> {
  const sinks = new Map<number, AttachmentSink>();
  let decodedBytes = 0;
  const countBytes = (count: number) => {
    decodedBytes += count;
    if (decodedBytes > intake.limits.messageBytes) throw messageTooLarge(intake.limits.messageBytes);
  };
  const assembler = new JsonAssembler(jsonBounds(intake.recipientsPerMessage), (path) => {
    const index = attachmentIndex(path);
    if (index === undefined) return undefined;
    if (index >= maxAttachments)
      throw invalidField("attachments", `may hold at most ${maxAttachments} attachments`);
    let kept = 0;
    for (const sink of sinks.values()) kept += sink.inline()?.length ?? 0;
    const sink = new AttachmentSink(fieldName(path), intake, attachmentBlob(intake.id, index), {
      keepBytes: Math.max(0, keptAttachmentBytes - kept),
      countBytes,
    });
    sinks.set(index, sink);
    return sink;
  });

  const source = limitedBody(body, intake.limits);
  try {
    await parseInto(source, assembler);
  } catch (error) {
    source.destroy();
    await Promise.all([...sinks.values()].map((sink) => sink.abort(error)));
    throw error;
  }

  const fields = validate(jsonMessageSchema, assembler.result());
  const inlineBytes = new Map<number, Buffer>();
  const attachments = fields.attachments.map((a, index): StoredAttachment => {
    const sink = sinks.get(index);
    // The schema takes contentBytes only as a string or an object with a string $content: both streamed.
    if (!sink) throw new Error(`attachment ${index} passed the schema without streamed contentBytes`);
    const stored = {
      name: sanitizeFileName(a.name, `attachment-${index + 1}`),
      contentType: a.contentType?.toLowerCase() ?? "application/octet-stream",
      size: sink.size,
      sha256: sink.sha256(),
    };
    const bytes = sink.inline();
    if (!bytes) return { ...stored, blob: attachmentBlob(intake.id, index) };
    inlineBytes.set(index, bytes);
    return { ...stored, contentBase64: bytes.toString("base64") };
  });
  return { fields, attachments, inlineBytes };
}

/** The attachment whose bytes a string at `path` holds: `attachments[i].contentBytes(.$content)`. */
function attachmentIndex(path: JsonPath): number | undefined {
  const [top, index, field, inner] = path;
  if (top !== "attachments" || typeof index !== "number" || field !== "contentBytes") return undefined;
  if (path.length === 3) return index;
  return path.length === 4 && inner === "$content" ? index : undefined;
}

/** Feeds the body to stream-json's tokenizer and its tokens to the assembler, a slice at a time. */
async function parseInto(source: Readable, assembler: JsonAssembler): Promise<void> {
  // fatal: a body that is not UTF-8 is refused (RFC 8259 §8.1), not read with replacement characters.
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const parse = jsonParser({ packValues: false });
  // The tokenizer ends on `none` (stream-chain's flush); its type admits strings only.
  const flush = parse as (text: string | typeof none) => Many<Token> | typeof none;
  const feed = (text: string | typeof none) => assembler.consume(tokensOf(flush, text));
  for await (const chunk of source as AsyncIterable<Buffer>) {
    for (let at = 0; at < chunk.length; at += sliceBytes) {
      await feed(decode(utf8, chunk.subarray(at, at + sliceBytes)));
    }
  }
  await feed(decode(utf8));
  await feed(none);
}

function decode(utf8: TextDecoder, bytes?: Uint8Array): string {
  try {
    return bytes ? utf8.decode(bytes, { stream: true }) : utf8.decode();
  } catch {
    throw new ProblemError("badRequest", "The body is not valid UTF-8.");
  }
}

function tokensOf(
  parse: (text: string | typeof none) => Many<Token> | typeof none,
  text: string | typeof none,
): readonly Token[] {
  let tokens: Many<Token> | typeof none;
  try {
    tokens = parse(text);
  } catch (error) {
    throw new ProblemError("badRequest", `The body is not valid JSON: ${(error as Error).message}.`);
  }
  return tokens === none ? [] : getManyValues(tokens);
}

/**
 * One attachment's contentBytes: decoded as they arrive, counted, hashed, and kept in memory up to
 * `keepBytes`, past which they stream (the kept bytes first) into Blob storage.
 */
class AttachmentSink implements StringSink {
  size = 0;
  private readonly decoder: Base64Decoder;
  private readonly hash = createHash("sha256");
  private readonly spool: Spool;
  private upload: Promise<void> | undefined;
  private failure: Error | undefined;
  private kept: Buffer | undefined;

  constructor(
    field: string,
    intake: JsonIntake,
    path: string,
    private readonly options: { keepBytes: number; countBytes: (count: number) => void },
  ) {
    this.decoder = new Base64Decoder(field);
    this.spool = new Spool(options.keepBytes, (stream) => {
      // Its type is in the stored message; it may come after the bytes, so the blob is only bytes.
      this.upload = intake.store.upload(path, stream, "application/octet-stream");
      return this.upload;
    });
    // A failed upload destroys the spool; without a listener its 'error' would stop the process.
    this.spool.on("error", (error: Error) => {
      this.failure = error;
    });
  }

  async write(text: string): Promise<void> {
    const bytes = this.decoder.write(text);
    if (bytes.length === 0) return;
    this.options.countBytes(bytes.length);
    this.size += bytes.length;
    this.hash.update(bytes);
    if (this.failure) throw this.failure;
    if (!this.spool.write(bytes)) await once(this.spool, "drain");
  }

  async end(): Promise<void> {
    this.decoder.end();
    this.spool.end();
    await finished(this.spool);
    this.kept = this.spool.inline();
  }

  /** The decoded bytes once the string ended, when they stayed in memory; else undefined (in Blob storage). */
  inline(): Buffer | undefined {
    return this.kept;
  }

  sha256(): string {
    return this.hash.digest("hex");
  }

  /** Stops an upload still under way and waits until it has settled, so nothing lands after a clean-up. */
  async abort(error: unknown): Promise<void> {
    if (!this.spool.writableFinished) this.spool.destroy(error instanceof Error ? error : undefined);
    await this.upload?.catch(() => {});
  }
}
