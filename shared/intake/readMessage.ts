import { createHash } from "node:crypto";
import { buffer } from "node:stream/consumers";
import type { ReadableStream } from "node:stream/web";
import type { Config } from "../config.js";
import type { Mailbox } from "../domain/address.js";
import type { Client } from "../domain/client.js";
import {
  jsonMessageSchema,
  type MessageFields,
  messageFieldsSchema,
  type StoredAttachment,
  type StoredMessage,
  sanitizeFileName,
} from "../domain/message.js";
import { invalidField, ProblemError } from "../domain/problem.js";
import { validate } from "../domain/validate.js";
import type { MessageStore } from "../storage/ports.js";
import { type BodyLimits, limitedBody } from "./body.js";
import { messageFieldsFromForm } from "./form.js";
import { readMultipart } from "./multipart.js";

/** A message as read from a request, before it is queued; `inlineBytes` holds JSON attachments' decoded bytes. */
export interface IncomingMessage {
  message: StoredMessage;
  inlineBytes: Map<number, Buffer>;
}

/**
 * The largest body accepted: the message limit in base64 (JSON and MIME carry bytes that way) plus 1 MiB of
 * fields; and the message limit itself, which every 413 names.
 */
export function bodyLimits(config: Config): BodyLimits {
  const messageBytes = config.limits.messageBytes;
  return { bodyBytes: Math.ceil((messageBytes * 4) / 3) + 1024 * 1024, messageBytes };
}

/**
 * Reads and validates a `POST /api/v1/messages` body (JSON or multipart) into the normalized message.
 * Multipart file parts are already in Blob storage when this returns; on error the caller deletes `{id}/`.
 */
export async function readMessage(
  body: ReadableStream<Uint8Array> | null,
  contentType: string,
  id: string,
  client: Client,
  config: Config,
  store: MessageStore,
): Promise<IncomingMessage> {
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase();
  if (mediaType === "application/json") {
    const bytes = await buffer(limitedBody(body, bodyLimits(config)));
    const json = validate(jsonMessageSchema, parseJson(bytes));
    const inlineBytes = new Map<number, Buffer>();
    const attachments = json.attachments.map((a, index): StoredAttachment => {
      const content = Buffer.from(a.contentBase64, "base64");
      inlineBytes.set(index, content);
      return {
        name: sanitizeFileName(a.name, `attachment-${index + 1}`),
        contentType: a.contentType?.toLowerCase() ?? "application/octet-stream",
        size: content.length,
        sha256: createHash("sha256").update(content).digest("hex"),
        contentBase64: a.contentBase64,
      };
    });
    return { message: normalize(id, client, json, attachments), inlineBytes };
  }
  if (mediaType === "multipart/form-data") {
    const form = await readMultipart(body, contentType, id, store, bodyLimits(config));
    const fields = validate(messageFieldsSchema, messageFieldsFromForm(form.fields));
    return { message: normalize(id, client, fields, form.attachments), inlineBytes: new Map() };
  }
  throw new ProblemError(
    "unsupportedMediaType",
    `Content-Type ${contentType || "(none)"} is not accepted; send application/json or multipart/form-data.`,
    { headers: { "Accept-Post": "application/json, multipart/form-data" } },
  );
}

function parseJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ProblemError("badRequest", "The body is not valid UTF-8.");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ProblemError("badRequest", `The body is not valid JSON: ${(error as Error).message}`);
  }
}

function normalize(
  id: string,
  client: Client,
  fields: MessageFields,
  attachments: StoredAttachment[],
): StoredMessage {
  const from: Mailbox | undefined =
    fields.from ?? (client.defaultSender ? { address: client.defaultSender } : undefined);
  if (!from) throw invalidField("from", "is required: this client has no default sender");
  return {
    v: 1,
    id,
    clientId: client.id,
    from,
    to: fields.to,
    cc: fields.cc,
    bcc: fields.bcc,
    replyTo: fields.replyTo,
    subject: fields.subject,
    text: fields.text,
    html: fields.html,
    headers: fields.headers,
    importance: fields.importance,
    sendAt: fields.sendAt,
    saveToSentItems: fields.saveToSentItems,
    metadata: fields.metadata,
    callbackUrl: fields.callbackUrl,
    attachments,
  };
}
