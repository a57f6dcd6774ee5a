import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { Readable } from "node:stream";

/** One part of a multipart/form-data body: a text field, or a file streamed from disk. */
export type FormPart = { name: string; value: string } | { name: string; path: string; contentType: string };

/** A streaming multipart body whose length is known before the first byte is sent (RFC 7578). */
export interface MultipartBody {
  contentType: string;
  lengthBytes: number;
  stream(): Readable;
}

const quote = (text: string) => text.replace(/[\r\n"\\]/g, (ch) => (ch === '"' ? "%22" : "_"));

export async function multipartBody(parts: FormPart[]): Promise<MultipartBody> {
  const boundary = `mailhook-${randomBytes(12).toString("hex")}`;
  const pieces: (Buffer | { path: string; sizeBytes: number })[] = [];
  for (const part of parts) {
    if ("value" in part) {
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(part.name)}"\r\n\r\n`;
      pieces.push(Buffer.from(`${head}${part.value}\r\n`));
    } else {
      const head =
        `--${boundary}\r\nContent-Disposition: form-data; name="${quote(part.name)}"; ` +
        `filename="${quote(basename(part.path))}"\r\nContent-Type: ${part.contentType}\r\n\r\n`;
      pieces.push(
        Buffer.from(head),
        { path: part.path, sizeBytes: (await stat(part.path)).size },
        Buffer.from("\r\n"),
      );
    }
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  const lengthBytes = pieces.reduce((n, p) => n + (Buffer.isBuffer(p) ? p.length : p.sizeBytes), 0);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    lengthBytes,
    stream: () =>
      Readable.from(
        (async function* () {
          for (const piece of pieces) {
            if (Buffer.isBuffer(piece)) yield piece;
            else for await (const chunk of createReadStream(piece.path)) yield chunk as Buffer;
          }
        })(),
      ),
  };
}
