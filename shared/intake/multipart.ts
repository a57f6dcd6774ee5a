import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";
import busboy from "busboy";
import { type StoredAttachment, sanitizeFileName } from "../domain/message.js";
import { ProblemError } from "../domain/problem.js";
import type { MessageStore } from "../storage/ports.js";
import { type BodyLimits, ByteMeter, limitedBody, messageTooLarge } from "./body.js";

export interface MultipartMessage {
  fields: Map<string, string[]>;
  attachments: StoredAttachment[];
}

const mimeType = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;

/**
 * Streams a `multipart/form-data` body: form fields are collected, every file part goes straight into
 * Blob storage under `{id}/attachments/{n}` (never held whole in memory). On any error the caller must
 * delete what was stored under `{id}/`; this function waits for every upload to settle before it throws.
 */
export async function readMultipart(
  body: ReadableStream<Uint8Array> | null,
  contentType: string,
  id: string,
  store: MessageStore,
  limits: BodyLimits,
): Promise<MultipartMessage> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": contentType },
      defParamCharset: "utf8",
      limits: { fieldSize: 1024 * 1024, fields: 500, files: 100, parts: 600, headerPairs: 50 },
    });
  } catch (error) {
    throw new ProblemError("badRequest", `Malformed multipart body: ${(error as Error).message}.`);
  }

  const fields = new Map<string, string[]>();
  const uploads: Promise<StoredAttachment>[] = [];
  const meters: ByteMeter[] = [];
  let attachmentBytes = 0;
  const countAttachmentBytes = (count: number) => {
    attachmentBytes += count;
    if (attachmentBytes > limits.messageBytes) {
      throw messageTooLarge(limits.messageBytes);
    }
  };

  const parsed = new Promise<void>((resolve, reject) => {
    // busboy reports a part with an empty name (name="") as undefined.
    parser.on("field", (name = "", value, info) => {
      if (info.valueTruncated) {
        reject(
          new ProblemError("tooLarge", `Form field ${name} is longer than 1 MiB.`, {
            extensions: { field: name },
          }),
        );
        return;
      }
      fields.set(name, [...(fields.get(name) ?? []), value]);
    });
    parser.on("file", (fieldName = "", stream, info) => {
      const index = uploads.length;
      const meter = new ByteMeter(countAttachmentBytes);
      meters.push(meter);
      const name = sanitizeFileName(info.filename ?? "", `attachment-${index + 1}`);
      const type = mimeType.test(info.mimeType) ? info.mimeType.toLowerCase() : undefined;
      const path = `${id}/attachments/${index}`;
      const upload = Promise.all([
        pipeline(stream, meter).catch((error) => {
          meter.destroy(error);
          throw error;
        }),
        store.upload(path, meter, type ?? "application/octet-stream"),
      ]).then((): StoredAttachment => {
        if (!type) {
          throw new ProblemError(
            "validation",
            `File part ${fieldName}: content type ${info.mimeType} is not valid.`,
            {
              errors: [
                { field: fieldName, message: `content type ${JSON.stringify(info.mimeType)} is not valid` },
              ],
            },
          );
        }
        return { name, contentType: type, size: meter.bytes, sha256: meter.sha256(), blob: path };
      });
      upload.catch(reject);
      uploads.push(upload);
    });
    parser.on("filesLimit", () =>
      reject(new ProblemError("validation", "At most 100 attachments per message.")),
    );
    parser.on("fieldsLimit", () => reject(new ProblemError("validation", "At most 500 form fields.")));
    parser.on("partsLimit", () => reject(new ProblemError("validation", "At most 600 form parts.")));
    parser.on("error", (error: Error) =>
      reject(new ProblemError("badRequest", `Malformed multipart body: ${error.message}.`)),
    );
    parser.on("close", resolve);
  });

  const source = limitedBody(body, limits);
  const streamed = pipeline(source, parser);

  try {
    await Promise.race([parsed, streamed.then(() => parsed)]);
    return { fields, attachments: await Promise.all(uploads) };
  } catch (error) {
    const problem =
      error instanceof ProblemError
        ? error
        : new ProblemError("badRequest", `Malformed multipart body: ${error}`);
    source.destroy();
    for (const meter of meters) meter.destroy(problem);
    await Promise.allSettled([streamed, ...uploads]);
    throw problem;
  }
}
