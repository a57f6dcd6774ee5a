import { createHash } from "node:crypto";
import { z } from "zod";
import type { Mailbox } from "./address.js";
import type { QueuedMessage } from "./message.js";

/** Exchange of one `Idempotency-Key`: which message it produced and what that message was. Version 1. */
export const idempotencyRecordSchema = z.object({
  v: z.literal(1),
  messageId: z.string(),
  /** SHA-256 of the normalized message (fields plus attachment hashes), see `messageFingerprint`. */
  fingerprint: z.string(),
  createdAt: z.string(),
});
export type IdempotencyRecord = z.infer<typeof idempotencyRecordSchema>;

/** Keys are kept 24 hours per client, the window Stripe-style Idempotency-Key APIs use and the API documents. */
export const idempotencyWindowMs = 24 * 3600 * 1000;

export function isLive(record: IdempotencyRecord, now: Date): boolean {
  return now.getTime() - Date.parse(record.createdAt) < idempotencyWindowMs;
}

/**
 * What makes two requests "the same message": every normalized field and each attachment's name, type, size
 * and SHA-256, but not the id, nor how the bytes travelled (JSON base64, multipart boundary, inline or Blob).
 * For MIME it is the envelope and the bytes as they arrived (not the Message-ID added to them, which differs
 * per id).
 */
export function messageFingerprint(message: QueuedMessage): string {
  if ("kind" in message) {
    const { from, recipients, sourceSha256, saveToSentItems } = message;
    return sha256(canonicalJson({ kind: "mime", from, recipients, sourceSha256, saveToSentItems }));
  }
  const { id: _id, v: _v, attachments, ...fields } = message;
  const canonical = canonicalJson({
    ...fields,
    attachments: attachments.map(({ name, contentType, size, sha256 }) => ({
      name,
      contentType,
      size,
      sha256,
    })),
  });
  return sha256(canonical);
}

/**
 * The Idempotency-Key of a MIME message whose sender may retry it without one (an SMTP client whose
 * connection dropped before the reply): its own Message-ID, its envelope and the SHA-256 of its bytes, so
 * a retry of the same message within the key's 24 hours answers the same id, and another message never does.
 * Without a Message-ID of its own there is nothing telling a retry from a new message: no key.
 */
export function mimeRetryKey(message: {
  ownMessageId?: string;
  from: Mailbox;
  recipients: Mailbox[];
  sourceSha256: string;
}): string | undefined {
  if (!message.ownMessageId) return undefined;
  const envelope = [message.from.address, ...message.recipients.map((r) => r.address)].map((a) =>
    a.toLowerCase(),
  );
  return `rfc822:${sha256(canonicalJson([message.ownMessageId, envelope, message.sourceSha256]))}`;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** JSON with object keys sorted, so maps given in another order fingerprint the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
