import { z } from "zod";
import { transportNames } from "./transportName.js";

export const messageStatuses = [
  "queued",
  "scheduled",
  "deferred",
  "sending",
  "sent",
  "failed",
  "cancelled",
] as const;
export type MessageStatus = (typeof messageStatuses)[number];

const finalStatuses: ReadonlySet<MessageStatus> = new Set(["sent", "failed", "cancelled"]);
export const isFinal = (status: MessageStatus): boolean => finalStatuses.has(status);

const providerErrorSchema = z.object({
  /** The provider's code: an SMTP reply such as `535 5.7.3`, or a Graph error code such as `ErrorSendAsDenied`. */
  code: z.string().optional(),
  text: z.string(),
  at: z.string(),
});
export type ProviderError = z.infer<typeof providerErrorSchema>;

const timelineEntrySchema = z.object({
  at: z.string(),
  status: z.enum(messageStatuses),
  detail: z.string().optional(),
  /** The client whose key asked for this change (a retry or a cancel, by the owner or an operator). */
  by: z.string().optional(),
});

/** How much of a message a status record keeps for lists and search. */
export const summaryLimits = { subjectChars: 256, addresses: 50, attachments: 50 } as const;

/**
 * What a provider holds of an unfinished send, recorded before the provider is asked to send it, so a later
 * attempt can ask the provider what became of it: a Graph draft, by its immutable id (it keeps that id when
 * it moves to Sent Items), and whether every attachment is in it yet.
 */
export const sendCheckpointSchema = z.object({
  kind: z.literal("graphDraft"),
  /** The mailbox the draft lives in (the sender). */
  mailbox: z.string(),
  id: z.string().min(1),
  complete: z.boolean(),
});
export type SendCheckpoint = z.infer<typeof sendCheckpointSchema>;

/**
 * The dispatcher that moved a message to `sending`: no other may send it until `expiresAt`; after that a
 * dispatcher may take over, asking the provider about the checkpoint first.
 */
const sendClaimSchema = z.object({
  /** The queue message (or invocation) that holds the claim. */
  owner: z.string(),
  expiresAt: z.string(),
});
export type SendClaim = z.infer<typeof sendClaimSchema>;

// The summary fields (subject, addresses, file names) and a timeline entry's `by` are optional: records
// written before them read as they are.
const commonFields = {
  id: z.string(),
  clientId: z.string(),
  status: z.enum(messageStatuses),
  transport: z.enum(transportNames),
  mailbox: z.string(),
  recipients: z.number().int().nonnegative(),
  /** The subject's first 256 characters. */
  subject: z.string().optional(),
  /** The first 50 recipient addresses (to, cc, bcc), lowercase; `recipients` counts them all. */
  recipientAddresses: z.array(z.string()).optional(),
  /** The first 50 attachments' names and sizes in bytes. */
  attachments: z.array(z.object({ name: z.string(), size: z.number().int().nonnegative() })).optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  attempts: z.number().int().nonnegative(),
  sendAt: z.string().optional(),
  sentAt: z.string().optional(),
  /** For `deferred` and `scheduled`: when the next attempt is planned, and why. */
  nextAttemptAt: z.string().optional(),
  reason: z.string().optional(),
  lastError: providerErrorSchema.optional(),
  providerMessageId: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  /** The message's own delivery webhook, if it named one. */
  callbackUrl: z.string().optional(),
  /** True while message bytes are held in Blob storage. */
  hasBlobs: z.boolean(),
  timeline: z.array(timelineEntrySchema),
};

/** Version 1, as the previous release wrote it; read and upgraded, never written. */
const statusRecordV1Schema = z.object({ v: z.literal(1), ...commonFields });

/**
 * What a caller can see of one message, and what the dispatcher needs to send it once; stored in the
 * `messages` table. Version 2 adds the claim, the provider checkpoint, the webhook outbox flag and the
 * duplicate-risk flag to version 1.
 */
export const statusRecordSchema = z.object({
  v: z.literal(2),
  ...commonFields,
  /**
   * True when an earlier attempt got no answer after the provider may have accepted it (a connection reset
   * after a `sendMail` or an SMTP DATA): the recipients may get this message twice, or (when `failed`)
   * may have got it once.
   */
  possibleDuplicate: z.boolean().optional(),
  /** While `sending`: who may send it, until when. */
  claim: sendClaimSchema.optional(),
  /** What the provider holds of an unfinished send (a Graph draft). */
  checkpoint: sendCheckpointSchema.optional(),
  /** A final status whose webhook report is not queued yet (an outbox: redelivery and retries queue it). */
  reportPending: z.boolean().optional(),
});
export type StatusRecord = z.infer<typeof statusRecordSchema>;

/** Reads a stored status record of either version; version 1 is upgraded (it held none of the new fields). */
export const storedStatusRecordSchema = z
  .discriminatedUnion("v", [statusRecordV1Schema, statusRecordSchema])
  .transform((record): StatusRecord => ({ ...record, v: 2 }));

// Table string properties hold at most 64 KiB: keep the newest entries of a long history.
const maxTimelineEntries = 50;

/**
 * Moves a record to `status`, stamping the time and appending to the timeline (with who asked, if a caller
 * did); a claim lasts only while `sending`.
 */
export function transition(
  record: StatusRecord,
  status: MessageStatus,
  at: Date,
  changes: Partial<Omit<StatusRecord, "v" | "id" | "clientId" | "status" | "timeline">> = {},
  detail?: string,
  by?: string,
): StatusRecord {
  const stamp = at.toISOString();
  const entry = { at: stamp, status, ...(detail ? { detail } : {}), ...(by ? { by } : {}) };
  const timeline = [...record.timeline, entry];
  return {
    ...record,
    ...(status === "sending" ? {} : { claim: undefined }),
    ...changes,
    status,
    updatedAt: stamp,
    timeline: timeline.slice(-maxTimelineEntries),
  };
}

/**
 * What the API shows of a status record: not the dispatcher's bookkeeping (an operator needs `clientId` to
 * tell whose message it is).
 */
export const publicStatusSchema = statusRecordSchema.omit({
  v: true,
  hasBlobs: true,
  claim: true,
  checkpoint: true,
  reportPending: true,
});
export type PublicStatus = z.infer<typeof publicStatusSchema>;

/** The status record as the API shows it. */
export function publicView(record: StatusRecord): PublicStatus {
  const {
    v: _v,
    hasBlobs: _hasBlobs,
    claim: _claim,
    checkpoint: _checkpoint,
    reportPending: _reportPending,
    ...visible
  } = record;
  return visible;
}
