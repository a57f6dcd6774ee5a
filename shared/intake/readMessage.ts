import type { ReadableStream } from "node:stream/web";
import type { Config } from "../config.js";
import type { Mailbox } from "../domain/address.js";
import type { Client } from "../domain/client.js";
import {
  type MessageFields,
  messageFieldsSchema,
  type StoredAttachment,
  type StoredMessage,
  type StoredMimeMessage,
} from "../domain/message.js";
import { invalidField, ProblemError } from "../domain/problem.js";
import { validate } from "../domain/validate.js";
import type { MessageStore } from "../storage/ports.js";
import type { BodyLimits } from "./body.js";
import { messageFieldsFromForm } from "./form.js";
import { readJsonMessage } from "./jsonMessage.js";
import { streamMime } from "./mime.js";
import { type MimeHeaders, parseMimeHeaders } from "./mimeHeaders.js";
import { readMultipart } from "./multipart.js";
import { envelopeFromField, envelopeToField, type SmtpEnvelope } from "./smtpEnvelope.js";

/**
 * A message as read from a request, before it is queued: composed (JSON, multipart; `inlineBytes` holds the
 * decoded bytes of the JSON attachments that stayed in memory) or the sender's own MIME, already in Blob
 * storage, with its parsed headers.
 */
export type IncomingMessage =
  | { kind: "composed"; message: StoredMessage; inlineBytes: Map<number, Buffer> }
  | { kind: "mime"; message: StoredMimeMessage; headers: MimeHeaders; ownMessageId?: string };

/** The request as intake reads it. */
export interface IntakeRequest {
  body: ReadableStream<Uint8Array> | null;
  contentType: string;
  /** The SMTP envelope named in request headers (message/rfc822 only). */
  envelope: SmtpEnvelope;
}

/** Who the message is for and where its bytes go. */
export interface IntakeContext {
  id: string;
  client: Client;
  config: Config;
  store: MessageStore;
  now: Date;
}

const acceptedMediaTypes = "application/json, multipart/form-data, message/rfc822";

/**
 * The largest body accepted: the message limit in base64 (JSON and MIME carry bytes that way) plus 1 MiB of
 * fields; and the message limit itself, which every 413 names.
 */
export function bodyLimits(config: Config): BodyLimits {
  return bodyLimitsFor(config.limits.messageBytes);
}

export function bodyLimitsFor(messageBytes: number): BodyLimits {
  return { bodyBytes: Math.ceil((messageBytes * 4) / 3) + 1024 * 1024, messageBytes };
}

/**
 * Reads and validates a `POST /api/v1/messages` body (JSON, multipart or MIME) into the normalized message.
 * Multipart file parts, MIME and large JSON attachments are already in Blob storage when this returns; on
 * error the caller deletes `{id}/`.
 */
export async function readMessage(request: IntakeRequest, context: IntakeContext): Promise<IncomingMessage> {
  const { body, contentType, envelope } = request;
  const { id, client, config, store } = context;
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase();
  if (mediaType === "message/rfc822") return readMime(request, context);
  if (envelope.from || envelope.recipients) {
    const field = envelope.recipients ? envelopeToField : envelopeFromField;
    throw invalidField(
      field,
      "applies to message/rfc822 bodies only; a JSON or form message names its recipients",
    );
  }
  if (mediaType === "application/json") {
    const json = await readJsonMessage(body, {
      id,
      store,
      limits: bodyLimits(config),
      recipientsPerMessage: config.limits.recipientsPerMessage,
    });
    return {
      kind: "composed",
      message: normalize(id, client, json.fields, json.attachments),
      inlineBytes: json.inlineBytes,
    };
  }
  if (mediaType === "multipart/form-data") {
    const form = await readMultipart(body, contentType, id, store, bodyLimits(config));
    const fields = validate(messageFieldsSchema, messageFieldsFromForm(form.fields));
    return {
      kind: "composed",
      message: normalize(id, client, fields, form.attachments),
      inlineBytes: new Map(),
    };
  }
  throw new ProblemError(
    "unsupportedMediaType",
    `Content-Type ${contentType || "(none)"} is not accepted; send application/json, multipart/form-data or message/rfc822.`,
    { headers: { "Accept-Post": acceptedMediaTypes } },
  );
}

/**
 * A `message/rfc822` body: streamed into Blob storage, its top-level headers parsed, its envelope the one
 * given in the request headers or else the headers' own (From; To, Cc and Bcc).
 */
async function readMime(request: IntakeRequest, context: IntakeContext): Promise<IncomingMessage> {
  const { id, client, config, store, now } = context;
  const { envelope } = request;
  const streamed = await streamMime(request.body, id, store, {
    limits: bodyLimits(config),
    envelopeFrom: envelope.from?.address,
    now,
  });
  const headers = await parseMimeHeaders(streamed.headerBlock);
  const from = envelope.from ?? (headers.from[0] ? { address: headers.from[0].address } : undefined);
  if (!from) throw invalidField("From", "the message has no From header with an address");
  const recipients = envelope.recipients ?? distinct([...headers.to, ...headers.cc, ...headers.bcc]);
  const message: StoredMimeMessage = {
    kind: "mime",
    v: 1,
    id,
    clientId: client.id,
    from,
    recipients,
    visibleRecipients: [...new Set([...headers.to, ...headers.cc].map((m) => m.address.toLowerCase()))],
    messageId: streamed.messageId,
    ...(streamed.blob ? { blob: streamed.blob } : { contentBase64: streamed.contentBase64 }),
    size: streamed.size,
    sha256: streamed.sha256,
    sourceSha256: streamed.sourceSha256,
  };
  return {
    kind: "mime",
    message,
    headers,
    ...(streamed.ownMessageId ? { ownMessageId: streamed.ownMessageId } : {}),
  };
}

/** Each address once (the first spelling), without display names: envelope addresses carry none. */
function distinct(mailboxes: Mailbox[]): Mailbox[] {
  const seen = new Set<string>();
  return mailboxes.flatMap((m) => {
    const key = m.address.toLowerCase();
    if (seen.has(key)) return [];
    seen.add(key);
    return [{ address: m.address }];
  });
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
