import { z } from "zod";
import { transportNames } from "./client.js";

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
});

/** What a caller can see of one message; stored in the `messages` table. Version 1. */
export const statusRecordSchema = z.object({
  v: z.literal(1),
  id: z.string(),
  clientId: z.string(),
  status: z.enum(messageStatuses),
  transport: z.enum(transportNames),
  mailbox: z.string(),
  recipients: z.number().int().nonnegative(),
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
});
export type StatusRecord = z.infer<typeof statusRecordSchema>;

// Table string properties hold at most 64 KiB: keep the newest entries of a long history.
const maxTimelineEntries = 50;

/** Moves a record to `status`, stamping the time and appending to the timeline. */
export function transition(
  record: StatusRecord,
  status: MessageStatus,
  at: Date,
  changes: Partial<Omit<StatusRecord, "v" | "id" | "clientId" | "status" | "timeline">> = {},
  detail?: string,
): StatusRecord {
  const stamp = at.toISOString();
  const timeline = [...record.timeline, { at: stamp, status, ...(detail ? { detail } : {}) }];
  return {
    ...record,
    ...changes,
    status,
    updatedAt: stamp,
    timeline: timeline.slice(-maxTimelineEntries),
  };
}

/** What the API shows of a status record. */
export const publicStatusSchema = statusRecordSchema.omit({ v: true, clientId: true, hasBlobs: true });

/** The status record as the API shows it. */
export function publicView(record: StatusRecord) {
  const { v: _v, clientId: _clientId, hasBlobs: _hasBlobs, ...visible } = record;
  return visible;
}
