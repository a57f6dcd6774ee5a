import { z } from "zod";
import { type StoredMessage, storedMessageSchema } from "./message.js";

/** What travels on `mailhook-outbound`: the message itself when small, else a Blob reference. Version 1. */
export const queueEnvelopeSchema = z
  .object({
    v: z.literal(1),
    id: z.string(),
    clientId: z.string(),
    mailbox: z.string(),
    recipients: z.number().int().positive(),
    message: storedMessageSchema.optional(),
    messageBlob: z.string().optional(),
  })
  .refine(
    (e) => (e.message === undefined) !== (e.messageBlob === undefined),
    "exactly one of message or messageBlob",
  );
export type QueueEnvelope = z.infer<typeof queueEnvelopeSchema>;

// Azure queue messages hold 64 KiB after base64, so about 48 KiB of JSON travels inline; larger goes to Blob.
export const inlineMessageLimitBytes = 48 * 1024;

export function fitsInline(message: StoredMessage): boolean {
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
