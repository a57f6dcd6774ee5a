import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import { type StoredAttachment, sanitizeFileName } from "../domain/message.js";
import { type FieldError, ProblemError } from "../domain/problem.js";
import type { MessageStore } from "../storage/ports.js";
import { type BodyLimits, ByteMeter, ClientAbortedError, limitedBody, messageTooLarge } from "./body.js";
import { MultipartSplitter, MultipartSyntaxError, type RawPart } from "./multipartSplitter.js";
import { parseHeaderBlock, parseParameterized } from "./partHeaders.js";
import { TransferEncodingError, transferDecoder } from "./transferEncoding.js";

export interface MultipartMessage {
  fields: Map<string, string[]>;
  attachments: StoredAttachment[];
}

const mimeType = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;
const limits = { fieldBytes: 1024 * 1024, fields: 500, files: 100, parts: 600, headerPairs: 50 };

/** What one part is, read from its headers. */
type PartKind =
  | { kind: "field"; name: string; charset: string }
  | { kind: "file"; field: string; filename: string | undefined; contentType: string | undefined };

/**
 * Streams a `multipart/form-data` body: form fields are collected, every file part goes straight into
 * Blob storage under `{id}/attachments/{n}` (never held whole in memory), decoded from base64 or
 * quoted-printable when its Content-Transfer-Encoding says so. A file part is one with a file name, whatever
 * its Content-Disposition (`form-data` with `filename`, `attachment`, `inline`, or none with a `name` on its
 * Content-Type): nothing the client sent is dropped, and a part that cannot be understood is refused, named.
 * On any error the caller must delete what was stored under `{id}/`; this function waits for every upload to
 * settle before it throws.
 */
export async function readMultipart(
  body: ReadableStream<Uint8Array> | null,
  contentType: string,
  id: string,
  store: MessageStore,
  bounds: BodyLimits,
): Promise<MultipartMessage> {
  const boundary = parseParameterized(contentType).params.get("boundary");
  if (!boundary || !/^[ -~]{1,70}$/.test(boundary) || boundary.endsWith(" ")) {
    throw new ProblemError(
      "badRequest",
      "Malformed multipart body: Content-Type has no valid boundary (RFC 2046: 1 to 70 characters).",
    );
  }
  const splitter = new MultipartSplitter(boundary);
  const fields = new Map<string, string[]>();
  const work: Promise<unknown>[] = [];
  const uploads: Promise<StoredAttachment | undefined>[] = [];
  const meters: ByteMeter[] = [];
  let fieldCount = 0;
  let attachmentBytes = 0;
  const countAttachmentBytes = (count: number) => {
    attachmentBytes += count;
    if (attachmentBytes > bounds.messageBytes) throw messageTooLarge(bounds.messageBytes);
  };

  const parsed = new Promise<void>((resolve, reject) => {
    splitter.on("part", (part: RawPart) => {
      try {
        if (part.index > limits.parts)
          throw new ProblemError("validation", `At most ${limits.parts} form parts.`);
        const kind = partKind(part);
        const decoder = decoderFor(part, kind.kind === "field" ? kind.name : kind.field);
        if (kind.kind === "field") {
          if (++fieldCount > limits.fields)
            throw new ProblemError("validation", `At most ${limits.fields} form fields.`);
          const read = readField(part, kind, decoder).then((value) => {
            fields.set(kind.name, [...(fields.get(kind.name) ?? []), value]);
          });
          read.catch(reject);
          work.push(read);
          return;
        }
        if (uploads.length >= limits.files)
          throw new ProblemError("validation", `At most ${limits.files} attachments per message.`);
        const upload = storeFile(part, kind, decoder, uploads.length);
        upload.catch(reject);
        uploads.push(upload);
      } catch (error) {
        part.body.resume();
        reject(error);
      }
    });
    splitter.on("finish", resolve);
    splitter.on("error", reject);
  });

  /** Streams one file part through its decoder and a byte meter into the store. */
  function storeFile(
    part: RawPart,
    kind: Extract<PartKind, { kind: "file" }>,
    decoder: ReturnType<typeof decoderFor>,
    index: number,
  ): Promise<StoredAttachment | undefined> {
    const meter = new ByteMeter(countAttachmentBytes);
    meters.push(meter);
    const type =
      kind.contentType && mimeType.test(kind.contentType) ? kind.contentType.toLowerCase() : undefined;
    const path = `${id}/attachments/${index}`;
    const streamed =
      decoder === "identity" ? pipeline(part.body, meter) : pipeline(part.body, decoder, meter);
    return Promise.all([
      streamed.catch((error) => {
        meter.destroy(error);
        throw partProblem(part, kind.field, error);
      }),
      store.upload(path, meter, type ?? "application/octet-stream"),
    ]).then((): StoredAttachment | undefined => {
      if (kind.contentType !== undefined && !type) {
        throw new ProblemError(
          "validation",
          `File part ${kind.field}: content type ${kind.contentType} is not valid.`,
          {
            errors: [
              { field: kind.field, message: `content type ${JSON.stringify(kind.contentType)} is not valid` },
            ],
          },
        );
      }
      // A browser's empty file input: `filename=""` and no bytes. Nothing was sent; nothing to attach.
      if (kind.filename === "" && meter.bytes === 0) return undefined;
      return {
        name: sanitizeFileName(kind.filename ?? "", `attachment-${index + 1}`),
        contentType: type ?? "application/octet-stream",
        size: meter.bytes,
        sha256: meter.sha256(),
        blob: path,
      };
    });
  }

  const source = limitedBody(body, bounds);
  const streamed = pipeline(source, splitter);

  try {
    await Promise.race([parsed, streamed.then(() => parsed)]);
    await Promise.all(work);
    const stored = await Promise.all(uploads);
    return { fields, attachments: stored.filter((a): a is StoredAttachment => a !== undefined) };
  } catch (error) {
    // The caller went away mid-body: say that, not whichever part it cut short.
    const problem = source.errored instanceof ClientAbortedError ? source.errored : asProblem(error);
    source.destroy();
    splitter.destroy(problem);
    for (const meter of meters) meter.destroy(problem);
    await Promise.allSettled([streamed, ...work, ...uploads]);
    throw problem;
  }
}

/**
 * What a part is: a file when it names a file (RFC 7578 §4.2 `filename`, an `attachment` or `inline`
 * disposition, RFC 2183, or a `name` on its Content-Type, as older MIME mail does), or a `form-data`
 * part with application/octet-stream (as busboy reads it); otherwise a form field named by its disposition.
 */
function partKind(part: RawPart): PartKind {
  const headers = parseHeaderBlock(part.headerBlock);
  if (!headers) throw unreadablePart(part, undefined, "has a malformed header line");
  if (headers.size > limits.headerPairs)
    throw unreadablePart(part, undefined, `has more than ${limits.headerPairs} headers`);
  const disposition = headers.has("content-disposition")
    ? parseParameterized(headers.get("content-disposition") ?? "")
    : undefined;
  const type = headers.has("content-type")
    ? parseParameterized(headers.get("content-type") ?? "")
    : undefined;
  const field = disposition?.params.get("name") ?? "";
  const filename = disposition?.params.get("filename") ?? type?.params.get("name");
  const contentType = type?.value;
  if (!disposition) {
    if (filename !== undefined) return { kind: "file", field, filename, contentType };
    throw unreadablePart(
      part,
      undefined,
      "has no Content-Disposition and no file name; send it as form-data with a name",
    );
  }
  if (disposition.value === "attachment" || disposition.value === "inline") {
    return { kind: "file", field, filename, contentType };
  }
  if (disposition.value !== "form-data") {
    throw unreadablePart(
      part,
      field,
      `has a Content-Disposition of ${JSON.stringify(disposition.value)}, which is not form-data, attachment or inline`,
    );
  }
  if (filename !== undefined || contentType === "application/octet-stream") {
    return { kind: "file", field, filename, contentType };
  }
  return { kind: "field", name: field, charset: type?.params.get("charset") ?? "utf-8" };
}

function decoderFor(part: RawPart, field: string) {
  const encoding = parseHeaderBlock(part.headerBlock)?.get("content-transfer-encoding");
  const decoder = transferDecoder(encoding);
  if (!decoder) {
    throw unreadablePart(
      part,
      field,
      `has Content-Transfer-Encoding ${JSON.stringify(encoding)}; send binary, base64 or quoted-printable`,
    );
  }
  return decoder;
}

async function readField(
  part: RawPart,
  kind: Extract<PartKind, { kind: "field" }>,
  decoder: ReturnType<typeof decoderFor>,
): Promise<string> {
  let decode: (bytes: Buffer) => string;
  try {
    const decoding = new TextDecoder(kind.charset);
    decode = (bytes) => decoding.decode(bytes);
  } catch {
    part.body.resume();
    throw unreadablePart(part, kind.name, `has charset ${JSON.stringify(kind.charset)}, which is not known`);
  }
  const chunks: Buffer[] = [];
  let length = 0;
  const source = decoder === "identity" ? part.body : part.body.pipe(decoder);
  if (decoder !== "identity") part.body.once("error", (error) => decoder.destroy(error));
  try {
    for await (const chunk of source) {
      length += (chunk as Buffer).length;
      if (length > limits.fieldBytes) {
        throw new ProblemError("tooLarge", `Form field ${kind.name} is longer than 1 MiB.`, {
          extensions: { field: kind.name },
        });
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    part.body.resume();
    throw partProblem(part, kind.name, error);
  }
  return decode(Buffer.concat(chunks));
}

function unreadablePart(part: RawPart, field: string | undefined, why: string): ProblemError {
  const name = field ? `Part ${part.index} (${field})` : `Part ${part.index}`;
  const errors: FieldError[] = [{ field: field || `part ${part.index}`, message: why }];
  return new ProblemError("badRequest", `Malformed multipart body: ${name} ${why}.`, {
    errors,
    extensions: { part: part.index },
  });
}

function partProblem(part: RawPart, field: string, error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error instanceof TransferEncodingError) return unreadablePart(part, field, `is ${error.message}`);
  return asProblem(error);
}

function asProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error instanceof MultipartSyntaxError)
    return new ProblemError("badRequest", `Malformed multipart body: ${error.message}.`);
  return new ProblemError(
    "badRequest",
    `Malformed multipart body: ${error instanceof Error ? error.message : error}`,
    {
      cause: error,
    },
  );
}
