import type { Readable } from "node:stream";
import { domainOf, type Mailbox } from "./address.js";
import type { StoredAttachment, StoredMessage } from "./message.js";

export interface OutboundAttachment {
  name: string;
  contentType: string;
  size: number;
  /** Opens the bytes as a stream; called once per send attempt. */
  open(): Promise<Readable>;
}

/** A message composed from fields: the SMTP transports build its MIME, Graph its `message` resource. */
export interface ComposedMessage {
  kind: "composed";
  id: string;
  /** RFC 5322 Message-ID derived from `id`, so a resend of the same message carries the same one. */
  messageId: string;
  from: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  subject: string;
  text?: string;
  html?: string;
  headers: Record<string, string>;
  importance?: "low" | "normal" | "high";
  saveToSentItems: boolean;
  attachments: OutboundAttachment[];
}

/**
 * A message its sender built as MIME (a device through the SMTP edge, an app posting `message/rfc822`):
 * the SMTP transports pass its bytes through unchanged, with the envelope given apart (Bcc recipients are
 * in the envelope only, never in the headers).
 */
export interface MimeMessage {
  kind: "mime";
  id: string;
  /** The MIME's own Message-ID (one derived from `id` was added at intake when it had none). */
  messageId: string;
  /** The envelope sender (MAIL FROM), a sender the client may use. */
  from: Mailbox;
  /** The envelope recipients (RCPT TO): to, cc and bcc alike. */
  recipients: Mailbox[];
  /** The MIME's length in bytes. */
  size: number;
  saveToSentItems: boolean;
  /** Opens the MIME bytes as a stream; called once per send attempt. */
  open(): Promise<Readable>;
}

/** A message ready to hand to a provider. */
export type OutboundMessage = ComposedMessage | MimeMessage;

/** The Message-ID of a message mailhook composes: stable per message id, in the sender's domain. */
export function messageIdFor(id: string, from: string): string {
  return `<${id}@${domainOf(from)}>`;
}

/**
 * The text of a message that brings only files (a scan). Without a text part nodemailer makes the one file
 * the whole message, not a multipart/mixed with the file attached (its MailComposer uses multipart/mixed only
 * for a body plus attachments, or for several attachments), which many mail clients show as a bare file; and
 * Graph would send an empty body. A line naming the files reads well in both.
 */
export function attachmentNote(names: readonly string[]): string {
  return names.length === 1
    ? `${names[0]} is attached.`
    : `${names.length} files are attached: ${names.join(", ")}.`;
}

/** Turns a stored message into what a transport sends; `open` reads an attachment's bytes, wherever they are. */
export function toOutbound(
  message: StoredMessage,
  options: { saveToSentItems: boolean; open(attachment: StoredAttachment): Promise<Readable> },
): OutboundMessage {
  return {
    kind: "composed",
    id: message.id,
    messageId: messageIdFor(message.id, message.from.address),
    from: message.from,
    to: message.to,
    cc: message.cc,
    bcc: message.bcc,
    replyTo: message.replyTo,
    subject: message.subject,
    text:
      !message.text && !message.html && message.attachments.length > 0
        ? attachmentNote(message.attachments.map((a) => a.name))
        : message.text,
    html: message.html,
    headers: message.headers,
    importance: message.importance,
    saveToSentItems: message.saveToSentItems ?? options.saveToSentItems,
    attachments: message.attachments.map((a) => ({
      name: a.name,
      contentType: a.contentType,
      size: a.size,
      open: () => options.open(a),
    })),
  };
}
