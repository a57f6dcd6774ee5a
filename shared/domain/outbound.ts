import { Readable } from "node:stream";
import { domainOf, type Mailbox } from "./address.js";
import {
  type QueuedMessage,
  recipientsOf,
  type StoredAttachment,
  type StoredMimeMessage,
} from "./message.js";

export interface OutboundAttachment {
  name: string;
  contentType: string;
  size: number;
  /** Content-ID (without angle brackets) of a part the HTML body refers to as `cid:…`. */
  contentId?: string;
  /** Shown in the body (Content-Disposition: inline) rather than listed as an attachment. */
  inline?: boolean;
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
  /**
   * Set when some recipients already have the message (a partial delivery): the SMTP envelope goes to these
   * only, with the same Message-ID and headers. Only the SMTP transports produce partial deliveries.
   */
  envelopeRecipients?: Mailbox[];
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
  /** The envelope recipients the To and Cc headers do not name: the Bcc recipients. */
  bcc: Mailbox[];
  /** True when the To and Cc headers name only envelope recipients (no one the sender left out of RCPT TO). */
  headersWithinEnvelope: boolean;
  /** The MIME's length in bytes. */
  size: number;
  saveToSentItems: boolean;
  /** As for composed messages: the recipients still to send to after a partial delivery. */
  envelopeRecipients?: Mailbox[];
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

/** Which envelope recipients a MIME message's To and Cc leave out (its Bcc), and whether they name anyone else. */
export function mimeRecipients(
  message: Pick<StoredMimeMessage, "recipients" | "visibleRecipients">,
): Pick<MimeMessage, "bcc" | "headersWithinEnvelope"> {
  const visible = new Set(message.visibleRecipients);
  const enveloped = new Set(message.recipients.map((r) => r.address.toLowerCase()));
  return {
    bcc: message.recipients.filter((r) => !visible.has(r.address.toLowerCase())),
    headersWithinEnvelope: message.visibleRecipients.every((address) => enveloped.has(address)),
  };
}

/**
 * Turns a stored message into what a transport sends; `download` opens a blob (attachments and MIME kept in
 * Blob storage), inline attachment bytes are decoded here.
 */
export function toOutbound(
  message: QueuedMessage,
  options: {
    saveToSentItems: boolean;
    download(path: string): Promise<Readable>;
    /** The recipients still to send to, when others already have it (the queue envelope's `only`). */
    only?: string[];
  },
): OutboundMessage {
  const only = options.only && new Set(options.only.map((a) => a.toLowerCase()));
  const narrowed = (recipients: Mailbox[]) =>
    only ? { envelopeRecipients: recipients.filter((r) => only.has(r.address.toLowerCase())) } : {};
  if ("kind" in message) {
    return {
      kind: "mime",
      id: message.id,
      messageId: message.messageId,
      from: message.from,
      recipients: message.recipients,
      ...mimeRecipients(message),
      size: message.size,
      saveToSentItems: message.saveToSentItems ?? options.saveToSentItems,
      open: () =>
        message.blob
          ? options.download(message.blob)
          : Promise.resolve(Readable.from(Buffer.from(message.contentBase64 ?? "", "base64"))),
      ...narrowed(message.recipients),
    };
  }
  const open = (a: StoredAttachment) =>
    a.blob
      ? options.download(a.blob)
      : Promise.resolve(Readable.from(Buffer.from(a.contentBase64 ?? "", "base64")));
  return {
    ...(only
      ? { envelopeRecipients: recipientsOf(message).filter((r) => only.has(r.address.toLowerCase())) }
      : {}),
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
      ...(a.contentId ? { contentId: a.contentId } : {}),
      ...(a.inline ? { inline: true } : {}),
      open: () => open(a),
    })),
  };
}
