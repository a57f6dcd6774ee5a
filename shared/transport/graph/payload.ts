import type { Mailbox } from "../../domain/address.js";
import type { ComposedMessage, MimeMessage, OutboundAttachment } from "../../domain/outbound.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Graph caps a request body near 4 MB (Graph docs, "Attach large files to Outlook messages"). */
export const graphRequestMaxBytes = 4 * MiB;
/** Attachments of 3 MB or more go through an upload session; sessions for smaller files are refused. */
export const uploadSessionMinBytes = 3 * MiB;
/** Upload chunks must be multiples of 320 KiB and at most 4 MB: 10 × 320 KiB = 3.125 MiB. */
export const uploadChunkBytes = 10 * 320 * KiB;

interface GraphRecipient {
  emailAddress: { address: string; name?: string };
}

export interface GraphFileAttachment {
  "@odata.type": "#microsoft.graph.fileAttachment";
  name: string;
  contentType: string;
  contentBytes: string;
  /** An inline image the HTML body shows as `cid:<contentId>`. */
  isInline?: boolean;
  contentId?: string;
}

/** Graph's `message` resource, the fields mailhook sets. */
export interface GraphMessage {
  subject: string;
  body: { contentType: "Text" | "HTML"; content: string };
  from: GraphRecipient;
  toRecipients: GraphRecipient[];
  ccRecipients: GraphRecipient[];
  bccRecipients: GraphRecipient[];
  replyTo: GraphRecipient[];
  importance?: "low" | "normal" | "high";
  /** Graph accepts only `x-` names here, and only a few of them (about 5). */
  internetMessageHeaders?: { name: string; value: string }[];
  attachments?: GraphFileAttachment[];
}

const recipient = (m: Mailbox): GraphRecipient => ({
  emailAddress: m.name ? { address: m.address, name: m.name } : { address: m.address },
});

/**
 * The Graph `message` for an outbound message, without attachments. Graph has one body: HTML wins when a
 * message has both (the text part is dropped; Outlook derives a plain-text view for recipients who need it).
 */
export function toGraphMessage(message: ComposedMessage): GraphMessage {
  const headers = Object.entries(message.headers);
  return {
    subject: message.subject,
    body:
      message.html !== undefined
        ? { contentType: "HTML", content: message.html }
        : { contentType: "Text", content: message.text ?? "" },
    from: recipient(message.from),
    toRecipients: message.to.map(recipient),
    ccRecipients: message.cc.map(recipient),
    bccRecipients: message.bcc.map(recipient),
    replyTo: message.replyTo.map(recipient),
    ...(message.importance ? { importance: message.importance } : {}),
    ...(headers.length > 0
      ? { internetMessageHeaders: headers.map(([name, value]) => ({ name, value })) }
      : {}),
  };
}

export function fileAttachment(attachment: OutboundAttachment, contentBytes: string): GraphFileAttachment {
  return {
    "@odata.type": "#microsoft.graph.fileAttachment",
    name: attachment.name,
    contentType: attachment.contentType,
    contentBytes,
    ...inlineFields(attachment),
  };
}

/** `isInline` and `contentId` of an inline part (fileAttachment and attachmentItem both take them). */
export function inlineFields(attachment: OutboundAttachment): { isInline?: true; contentId?: string } {
  return {
    ...(attachment.inline ? { isInline: true as const } : {}),
    ...(attachment.contentId ? { contentId: attachment.contentId } : {}),
  };
}

const base64Length = (bytes: number) => 4 * Math.ceil(bytes / 3);

/** The exact size of the `sendMail` body with every attachment inline, computed without reading any file. */
export function inlineRequestBytes(message: ComposedMessage): number {
  const body = {
    message: {
      ...toGraphMessage(message),
      attachments: message.attachments.map((a) => fileAttachment(a, "")),
    },
    saveToSentItems: message.saveToSentItems,
  };
  return (
    Buffer.byteLength(JSON.stringify(body)) +
    message.attachments.reduce((sum, a) => sum + base64Length(a.size), 0)
  );
}

/** How one attachment reaches a draft: in a POST of its own, or through an upload session. */
export type AttachmentRoute = "post" | "uploadSession";

/**
 * `sendMail` when the whole request fits under Graph's cap; otherwise a draft, each attachment added on its
 * own (upload session from 3 MB), then `send`.
 */
export type GraphSendPlan = { kind: "sendMail" } | { kind: "draft"; routes: AttachmentRoute[] };

export function planGraphSend(message: ComposedMessage): GraphSendPlan {
  if (inlineRequestBytes(message) <= graphRequestMaxBytes) return { kind: "sendMail" };
  return {
    kind: "draft",
    routes: message.attachments.map((a) => (a.size >= uploadSessionMinBytes ? "uploadSession" : "post")),
  };
}

/** One PUT of an upload session: bytes `start`..`end` (inclusive) of `total`. */
export interface ChunkRange {
  start: number;
  end: number;
  total: number;
}

/** The in-order byte ranges to PUT for a file of `totalBytes`, each `chunkBytes` long except the last. */
export function chunkRanges(totalBytes: number, chunkBytes = uploadChunkBytes): ChunkRange[] {
  const ranges: ChunkRange[] = [];
  for (let start = 0; start < totalBytes; start += chunkBytes) {
    ranges.push({ start, end: Math.min(start + chunkBytes, totalBytes) - 1, total: totalBytes });
  }
  return ranges;
}

export const contentRange = (r: ChunkRange) => `bytes ${r.start}-${r.end}/${r.total}`;

/**
 * The header that tells Graph's MIME sendMail about recipients only the envelope names: Graph takes the
 * recipients from the To, Cc and Bcc headers (a MIME sendMail has no envelope), and Exchange keeps Bcc
 * recipients out of the headers it sends ("MIME writers MUST NOT copy Bcc recipients to the MIME Bcc
 * header", [MS-OXCMAIL] 2.1.3.1.1.2,
 * https://learn.microsoft.com/openspecs/exchange_server_protocols/ms-oxcmail/db4548ad-9075-415d-876a-0b88d1a8852e).
 * One address a line, folded, so no line passes 998 characters (RFC 5322 section 2.1.1). Empty when none.
 */
export function bccHeader(bcc: MimeMessage["bcc"]): string {
  return bcc.length === 0 ? "" : `Bcc: ${bcc.map((r) => r.address).join(",\r\n ")}\r\n`;
}

/**
 * Whether a MIME message goes to Graph as MIME (`POST /users/{id}/sendMail`, Content-Type text/plain, the
 * MIME in base64, https://learn.microsoft.com/graph/outlook-send-mime-message): the base64 body with the Bcc
 * header must fit Graph's 4 MB request, and To and Cc must name envelope recipients only (Graph would
 * deliver to anyone they name).
 */
export function sendsAsMime(message: Pick<MimeMessage, "size" | "bcc" | "headersWithinEnvelope">): boolean {
  const bytes = message.size + Buffer.byteLength(bccHeader(message.bcc));
  return message.headersWithinEnvelope && base64Length(bytes) <= graphRequestMaxBytes;
}

/**
 * The bytes a send uploads to Graph (its request bodies), which Graph counts against 150 MB per 5 minutes per
 * app and mailbox (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits): the sendMail
 * body (a MIME sendMail: the MIME in base64); or the draft, each attachment (base64 in a POST, or raw through
 * an upload session) and the send.
 */
export function graphUploadBytes(message: ComposedMessage | MimeMessage): number {
  if (message.kind === "mime") return base64Length(message.size + Buffer.byteLength(bccHeader(message.bcc)));
  const plan = planGraphSend(message);
  if (plan.kind === "sendMail") return inlineRequestBytes(message);
  const draftBytes = Buffer.byteLength(JSON.stringify(toGraphMessage(message)));
  return message.attachments.reduce((sum, a, i) => {
    const posted = Buffer.byteLength(JSON.stringify(fileAttachment(a, ""))) + base64Length(a.size);
    return sum + (plan.routes[i] === "uploadSession" ? a.size : posted);
  }, draftBytes);
}
