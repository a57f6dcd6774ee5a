import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type AttachmentStream, type HeaderLines, MailParser, type MessageText } from "mailparser";
import type { Mailbox } from "../domain/address.js";
import {
  type StoredAttachment,
  type StoredMessage,
  type StoredMimeMessage,
  sanitizeFileName,
} from "../domain/message.js";
import { ProblemError } from "../domain/problem.js";
import type { MessageStore } from "../storage/ports.js";
import { ByteMeter } from "./body.js";
import type { MimeHeaders } from "./mimeHeaders.js";
import { graphMaxInternetMessageHeaders } from "./policy.js";

const mimeType = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;
const customHeaderName = /^X-[A-Za-z0-9-]{1,76}$/i;

/**
 * The composed form of a stored MIME message, for the graph transport when Graph's MIME sendMail cannot take
 * it (more than its 4 MB request, or To/Cc naming someone outside the envelope, whom Graph would deliver
 * to). mailparser streams the stored MIME: each attachment is decoded into Blob storage as
 * `{id}/attachments/{n}` with its size and SHA-256 (an upload session needs the size before the first byte),
 * inline parts keep their Content-ID, the bodies and headers become fields. To and Cc keep the envelope
 * recipients they name; every other envelope recipient is a Bcc. Up to 5 X- headers survive (Graph takes no
 * more); other headers are Exchange's to write. The MIME blob stays under `{id}/` with the attachments and
 * goes with them once the message is sent.
 */
export async function mimeToComposed(
  message: StoredMimeMessage,
  headers: MimeHeaders,
  store: MessageStore,
): Promise<StoredMessage> {
  const parser = new MailParser({
    skipHtmlToText: true,
    skipTextToHtml: true,
    skipImageLinks: true,
    skipTextLinks: true,
    checksumAlgo: "sha256",
  });
  const uploads: Promise<StoredAttachment>[] = [];
  let text: string | undefined;
  let html: string | undefined;
  let headerLines: HeaderLines = [];
  let parsedHeaders: Map<string, unknown> = new Map();
  parser.on("headerLines", (lines: HeaderLines) => {
    headerLines = lines;
  });
  parser.on("headers", (map: Map<string, unknown>) => {
    parsedHeaders = map;
  });
  parser.on("data", (data: AttachmentStream | MessageText) => {
    if (data.type === "text") {
      text = data.text;
      html = data.html;
      return;
    }
    uploads.push(spool(data, uploads.length));
  });
  const spool = async (part: AttachmentStream, index: number): Promise<StoredAttachment> => {
    const path = `${message.id}/attachments/${index}`;
    const contentType = mimeType.test(part.contentType)
      ? part.contentType.toLowerCase()
      : "application/octet-stream";
    const meter = new ByteMeter();
    try {
      await Promise.all([pipeline(part.content, meter), store.upload(path, meter, contentType)]);
    } finally {
      // mailparser waits for this before it reads on: one attachment in flight at a time.
      part.release?.();
    }
    const inline = part.contentDisposition === "inline" && part.cid !== undefined;
    return {
      name: sanitizeFileName(part.filename ?? "", `attachment-${index + 1}`),
      contentType,
      size: meter.bytes,
      sha256: meter.sha256(),
      blob: path,
      ...(part.cid ? { contentId: part.cid } : {}),
      ...(inline ? { inline: true } : {}),
    };
  };

  try {
    const source = message.blob
      ? await store.download(message.blob)
      : Readable.from(Buffer.from(message.contentBase64 ?? "", "base64"));
    await pipeline(source, parser);
  } catch (error) {
    await Promise.allSettled(uploads);
    throw new ProblemError("badRequest", `The MIME message cannot be read: ${String(error)}.`, {
      extensions: { field: "body" },
    });
  }
  const attachments = await Promise.all(uploads);
  const enveloped = new Map(message.recipients.map((r) => [r.address.toLowerCase(), r]));
  const named = (list: Mailbox[], taken: Set<string>) =>
    list.filter((m) => {
      const key = m.address.toLowerCase();
      if (!enveloped.has(key) || taken.has(key)) return false;
      taken.add(key);
      return true;
    });
  const taken = new Set<string>();
  const to = named(headers.to, taken);
  const cc = named(headers.cc, taken);
  const bcc = message.recipients.filter((r) => !taken.has(r.address.toLowerCase()));
  const importance = String(parsedHeaders.get("importance") ?? "").toLowerCase();
  const composed: StoredMessage = {
    v: 1,
    id: message.id,
    clientId: message.clientId,
    from: headers.from[0] ?? message.from,
    to,
    cc,
    bcc,
    replyTo: headers.replyTo,
    subject: headers.subject,
    text,
    html,
    headers: customHeaders(headerLines, parsedHeaders),
    ...(importance === "low" || importance === "normal" || importance === "high" ? { importance } : {}),
    saveToSentItems: message.saveToSentItems,
    attachments,
  };
  return composed;
}

/** The first few X- headers, names as the sender wrote them (Graph's internetMessageHeaders take `x-` names). */
function customHeaders(lines: HeaderLines, values: Map<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const { key, line } of lines) {
    if (Object.keys(headers).length >= graphMaxInternetMessageHeaders) break;
    const name = line.slice(0, line.indexOf(":")).trim();
    const value = values.get(key);
    if (!customHeaderName.test(name) || typeof value !== "string" || /[\r\n\u0000]/.test(value)) continue;
    headers[name] = value.slice(0, 998);
  }
  return headers;
}
