import { z } from "zod";
import { type QueuedMessage, storedMessageSchema, storedMimeMessageSchema } from "./message.js";

const envelopeFields = {
  id: z.string(),
  clientId: z.string(),
  mailbox: z.string(),
  recipients: z.number().int().positive(),
  messageBlob: z.string().optional(),
  /**
   * The recipients still to send to, when the others already have the message (a partial delivery at
   * SMTP RCPT, e.g. 550 5.7.233 for the external ones); absent: every recipient. Added within the versions:
   * a release that does not know it drops it and sends to every recipient again (same Message-ID).
   */
  only: z.array(z.string()).min(1).optional(),
  /**
   * Set when this copy was put back by the tenant's external recipient limit or a partial delivery, not
   * booked by the mailbox's pacing: the status's `nextAttemptAt` is then no mailbox booking. Added within the
   * versions; a release that does not know it treats the time as a booking, which the pacing gate tolerates.
   */
  unbooked: z.literal(true).optional(),
};

/** Version 1: a composed message (JSON or multipart), inline when small, else a Blob reference. */
const envelopeV1Schema = z.object({
  v: z.literal(1),
  ...envelopeFields,
  message: storedMessageSchema.optional(),
});

/**
 * Version 2: the sender's own MIME (`message/rfc822`, the SMTP edge). A new version rather than a new field,
 * so an instance of the previous release that dequeues one fails on the version it does not know instead of
 * sending something it cannot read; composed messages keep travelling as version 1, which it reads.
 */
const envelopeV2Schema = z.object({
  v: z.literal(2),
  ...envelopeFields,
  message: storedMimeMessageSchema.optional(),
});

/** What travels on `mailhook-outbound`: the message itself when small, else a Blob reference. */
export const queueEnvelopeSchema = z
  .discriminatedUnion("v", [envelopeV1Schema, envelopeV2Schema])
  .refine(
    (e) => (e.message === undefined) !== (e.messageBlob === undefined),
    "exactly one of message or messageBlob",
  );
export type QueueEnvelope = z.infer<typeof queueEnvelopeSchema>;

/** The envelope as the mailbox's pacing books it (`unbooked` cleared), or as something else holds it. */
export function withBooking(envelope: QueueEnvelope, bookedByPacing: boolean): QueueEnvelope {
  const { unbooked: _unbooked, ...rest } = envelope;
  return bookedByPacing ? rest : { ...rest, unbooked: true };
}

// Azure queue messages hold 64 KiB after base64, so about 48 KiB of JSON travels inline; larger goes to Blob.
export const inlineMessageLimitBytes = 48 * 1024;

export function fitsInline(message: QueuedMessage): boolean {
  return Buffer.byteLength(JSON.stringify(message)) <= inlineMessageLimitBytes;
}

/** Base64 JSON, as the Functions queue trigger expects by default (`messageEncoding: base64`). */
export function encodeEnvelope(envelope: QueueEnvelope): string {
  return Buffer.from(JSON.stringify(envelope)).toString("base64");
}

/**
 * Accepts what a queue trigger hands over: the Functions host has already decoded base64 and parsed JSON;
 * a raw string (base64 or JSON) is decoded here.
 */
export function decodeEnvelope(item: unknown): QueueEnvelope {
  let value = item;
  if (typeof value === "string") {
    const text = value.trimStart().startsWith("{") ? value : Buffer.from(value, "base64").toString("utf8");
    value = JSON.parse(text);
  }
  return queueEnvelopeSchema.parse(value);
}

/** The message a claim-checked envelope refers to (`messageBlob`), parsed with its version's schema. */
export function parseQueuedMessage(envelope: QueueEnvelope, json: unknown): QueuedMessage {
  return envelope.v === 2 ? storedMimeMessageSchema.parse(json) : storedMessageSchema.parse(json);
}
