import { z } from "zod";
import { type Mailbox, mailboxSchema, trimSpaces } from "./address.js";

// Control characters (C0, DEL, C1), format characters (Unicode Cf: the bidi embeddings, overrides and
// isolates U+202A–U+202E and U+2066–U+2069, marks such as U+200E, zero-width characters, U+FEFF) and line
// separators: none belongs in a file name, and the bidi ones make "invoice\u202Efdp.exe" show as
// "invoiceexe.pdf" (Unicode Technical Report #36, "Bidirectional Text Spoofing").
const controlCharacters = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const lineBreaks = /[\r\n\u0000]/;

// Messages read after the field's name: "subject: must not contain CR, LF or NUL".
const headerSafe = (max: number) =>
  z
    .string()
    .max(max, `is longer than ${max} characters`)
    .refine((value) => !lineBreaks.test(value), "must not contain CR, LF or NUL");

/** A list of recipients: an array, or one string with addresses separated by ',' or ';' (Power Automate's habit). */
const mailboxList = z
  .union(
    [
      z.array(z.unknown()),
      z.string().transform((list) => list.split(/[,;]/).map(trimSpaces).filter(Boolean)),
    ],
    'must be a list of addresses, or one string of addresses separated by "," or ";"',
  )
  .pipe(z.array(mailboxSchema));

/** What an attachment's bytes fail with when they are not base64 (streamed JSON intake says the same). */
export const notBase64 = "is not valid base64";

const base64 = z
  .string()
  .transform((value) => value.replace(/\s+/g, ""))
  .refine((value) => value.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(value), notBase64);

const contentType = z
  .string()
  .regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;\s*[a-z0-9_.-]+=("[^"\r\n]*"|[^";\r\n]*))*$/i, {
    message: "is not a valid MIME content type (type/subtype)",
  });

/**
 * Strips any path, drops control and format characters and caps the length: a name must not steer where
 * bytes land, nor show another extension than it has.
 */
export function sanitizeFileName(name: string, fallback: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const clean = [...base]
    .filter((ch) => !controlCharacters.test(ch))
    .join("")
    .trim()
    .replace(/^\.+/, "");
  return clean.slice(0, 255) || fallback;
}

const example = "2026-05-01T09:30:00Z (UTC) or 2026-05-01T11:30:00+02:00";

/** Why a `sendAt` is refused, in words: a time without an offset could be any time zone's. */
function sendAtProblem(input: unknown): string {
  if (typeof input !== "string")
    return `must be a string: an ISO 8601 time with a UTC offset, e.g. ${example}`;
  if (/^\d{4}-\d\d-\d\d$/.test(input)) return `needs a time of day and a UTC offset, e.g. ${example}`;
  if (/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(input))
    return `needs a UTC offset (Z or ±hh:mm): without one the time could be in any time zone; e.g. ${example}`;
  return `must be an ISO 8601 time with a UTC offset, e.g. ${example}`;
}

/** Power Automate hands file content around as `{"$content-type", "$content"}`. */
const powerAutomateFile = z.object({ "$content-type": contentType.optional(), $content: base64 });

const jsonAttachment = z
  .object({
    name: z.string().max(1024),
    contentType: contentType.optional(),
    contentBytes: z.union([base64, powerAutomateFile], {
      error: (issue) =>
        `${issue.input === undefined ? "is required:" : "must be"} the file's bytes in base64, or a Power Automate file object {"$content-type", "$content"}`,
    }),
  })
  .transform((a) =>
    typeof a.contentBytes === "string"
      ? { name: a.name, contentType: a.contentType, contentBase64: a.contentBytes }
      : {
          name: a.name,
          contentType: a.contentType ?? a.contentBytes["$content-type"],
          contentBase64: a.contentBytes.$content,
        },
  );

const baseFields = z.strictObject({
  from: mailboxSchema.optional(),
  to: mailboxList.default([]),
  cc: mailboxList.default([]),
  bcc: mailboxList.default([]),
  replyTo: mailboxList.default([]),
  subject: headerSafe(998),
  text: z.string().optional(),
  html: z.string().optional(),
  headers: z
    .record(
      z
        .string()
        .regex(
          /^X-[A-Za-z0-9-]{1,76}$/i,
          "a custom header name must start with X-, then letters, digits or '-' (78 characters at most)",
        ),
      headerSafe(998),
    )
    .refine((headers) => Object.keys(headers).length <= 10, "may hold at most 10 custom headers")
    .default({}),
  importance: z.enum(["low", "normal", "high"]).optional(),
  sendAt: z.iso.datetime({ offset: true, error: (issue) => sendAtProblem(issue.input) }).optional(),
  saveToSentItems: z.boolean().optional(),
  /** This message's delivery webhook (https), instead of the client's. */
  callbackUrl: z.url().max(2048).optional(),
  metadata: z
    .record(z.string().max(64, "metadata keys are at most 64 characters"), z.string().max(256))
    .refine((m) => Object.keys(m).length <= 20, "may hold at most 20 entries")
    .optional(),
});

const hasRecipient = (m: { to: unknown[]; cc: unknown[]; bcc: unknown[] }) =>
  m.to.length + m.cc.length + m.bcc.length > 0;
const recipientRule = { message: "at least one recipient is required in to, cc or bcc", path: ["to"] };

/** The fields every message has, whatever its content type (multipart form fields map onto these). */
export const messageFieldsSchema = baseFields.refine(hasRecipient, recipientRule);
export type MessageFields = z.infer<typeof messageFieldsSchema>;

/** Attachments one message may carry (multipart file parts too). */
export const maxAttachments = 100;

/** The v1 JSON body of `POST /api/v1/messages`. */
export const jsonMessageSchema = baseFields
  .extend({
    attachments: z
      .array(jsonAttachment)
      .max(maxAttachments, `may hold at most ${maxAttachments} attachments`)
      .default([]),
  })
  .refine(hasRecipient, recipientRule);

export type JsonMessage = z.infer<typeof jsonMessageSchema>;

const mailboxRecord = z.object({ address: z.string(), name: z.string().optional() });

/** An attachment as stored and queued: its bytes inline (small messages) or in Blob storage (claim check). */
export const storedAttachmentSchema = z.object({
  name: z.string(),
  contentType: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string(),
  contentBase64: z.string().optional(),
  blob: z.string().optional(),
  /**
   * The Content-ID (without angle brackets) of a part the HTML body shows in place (`<img src="cid:…">`);
   * only messages read from MIME have one. Optional fields: the previous release reads these records too.
   */
  contentId: z.string().optional(),
  /** Shown in the body rather than listed as an attachment (Content-Disposition: inline). */
  inline: z.boolean().optional(),
});
export type StoredAttachment = z.infer<typeof storedAttachmentSchema>;

/** The normalized message: what intake accepted, what dispatch sends. Version 1. */
export const storedMessageSchema = z.object({
  v: z.literal(1),
  id: z.string(),
  clientId: z.string(),
  from: mailboxRecord,
  to: z.array(mailboxRecord),
  cc: z.array(mailboxRecord),
  bcc: z.array(mailboxRecord),
  replyTo: z.array(mailboxRecord),
  subject: z.string(),
  text: z.string().optional(),
  html: z.string().optional(),
  headers: z.record(z.string(), z.string()),
  importance: z.enum(["low", "normal", "high"]).optional(),
  sendAt: z.string().optional(),
  saveToSentItems: z.boolean().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  callbackUrl: z.string().optional(),
  attachments: z.array(storedAttachmentSchema),
});
export type StoredMessage = z.infer<typeof storedMessageSchema>;

/**
 * A message its sender built as MIME (a device through the SMTP edge, an app posting `message/rfc822`),
 * stored as it came (in Blob storage, with a Message-ID or Date added only when missing and a Bcc header
 * removed), with the SMTP envelope beside it. Version 1 of kind "mime"; queued in envelope version 2.
 */
export const storedMimeMessageSchema = z
  .object({
    kind: z.literal("mime"),
    v: z.literal(1),
    id: z.string(),
    clientId: z.string(),
    /** The envelope sender (SMTP MAIL FROM): the mailbox that sends. */
    from: mailboxRecord,
    /** The envelope recipients (SMTP RCPT TO): to, cc and bcc alike. */
    recipients: z.array(mailboxRecord),
    /** Lower-cased addresses of the To and Cc headers; every other envelope recipient is a Bcc. */
    visibleRecipients: z.array(z.string()),
    /** The Message-ID header (the sender's own, or the one added at intake). */
    messageId: z.string(),
    /** Where the MIME is: `{id}/message.eml` in Blob storage ... */
    blob: z.string().optional(),
    /** ... or, for a small message, the MIME itself (base64) in the queue message. */
    contentBase64: z.string().optional(),
    /** Bytes of the stored MIME. */
    size: z.number().int().nonnegative(),
    sha256: z.string(),
    /** SHA-256 of the bytes as they arrived, before anything was added: what a retry of the same message repeats. */
    sourceSha256: z.string(),
    saveToSentItems: z.boolean().optional(),
  })
  .refine(
    (m) => (m.blob === undefined) !== (m.contentBase64 === undefined),
    "exactly one of blob or contentBase64",
  );
export type StoredMimeMessage = z.infer<typeof storedMimeMessageSchema>;

/** What a queue envelope can carry: a composed message (JSON, multipart) or the sender's own MIME. */
export type QueuedMessage = StoredMessage | StoredMimeMessage;

export function recipientsOf(message: Pick<StoredMessage, "to" | "cc" | "bcc">): Mailbox[] {
  return [...message.to, ...message.cc, ...message.bcc];
}

/** Turns zod's issue paths (`["to", 2]`) into the field names callers see (`to[2]`). */
export function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((name, key) => {
    if (typeof key === "number") return `${name}[${key}]`;
    return name ? `${name}.${String(key)}` : String(key);
  }, "");
}
