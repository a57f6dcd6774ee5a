import { createHash } from "node:crypto";
import { z } from "zod";
import type { StoredMessage } from "./message.js";
import { invalidField } from "./problem.js";

/** Exchange of one `Idempotency-Key`: which message it produced and what that message was. Version 1. */
export const idempotencyRecordSchema = z.object({
  v: z.literal(1),
  messageId: z.string(),
  /** SHA-256 of the normalized message (fields plus attachment hashes), see `messageFingerprint`. */
  fingerprint: z.string(),
  createdAt: z.string(),
});
export type IdempotencyRecord = z.infer<typeof idempotencyRecordSchema>;

/** Keys are kept 24 hours per client (DESIGN.md). */
export const idempotencyWindowMs = 24 * 3600 * 1000;

/** Idempotency keys per client, shared by every instance. */
export interface IdempotencyStore {
  /**
   * Claims `key` for `record` unless a live claim (younger than the window) exists, and resolves to the record
   * that holds the key afterwards: `record` itself when this call won, the earlier one otherwise. Concurrent
   * claims of one key resolve to the same winner.
   */
  claim(clientId: string, key: string, record: IdempotencyRecord, now: Date): Promise<IdempotencyRecord>;
  /** Drops the claim when it is still `messageId`'s (its request was not accepted after all). */
  release(clientId: string, key: string, messageId: string): Promise<void>;
  /** Deletes up to `limit` claims made before `before`; resolves to how many went. */
  purgeBefore(before: Date, limit: number): Promise<number>;
}

export function isLive(record: IdempotencyRecord, now: Date): boolean {
  return now.getTime() - Date.parse(record.createdAt) < idempotencyWindowMs;
}

/** The `Idempotency-Key` header, if any: 1–255 visible ASCII characters. */
export function idempotencyKeyFrom(headers: Headers): string | undefined {
  const key = headers.get("idempotency-key");
  if (key === null) return undefined;
  if (!/^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$/.test(key)) {
    throw invalidField("Idempotency-Key", "must be 1 to 255 visible ASCII characters");
  }
  return key;
}

/**
 * What makes two requests "the same message": every normalized field and each attachment's name, type, size
 * and SHA-256, but not the id, nor how the bytes travelled (JSON base64, multipart boundary, inline or Blob).
 */
export function messageFingerprint(message: StoredMessage): string {
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
  return createHash("sha256").update(canonical).digest("hex");
}

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

/** In-memory IdempotencyStore for unit tests; same contract as the Table adapter. */
export class MemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();

  async claim(
    clientId: string,
    key: string,
    record: IdempotencyRecord,
    now: Date,
  ): Promise<IdempotencyRecord> {
    const slot = `${clientId}\n${key}`;
    const held = this.records.get(slot);
    if (held && isLive(held, now)) return held;
    this.records.set(slot, record);
    return record;
  }

  async release(clientId: string, key: string, messageId: string): Promise<void> {
    const slot = `${clientId}\n${key}`;
    if (this.records.get(slot)?.messageId === messageId) this.records.delete(slot);
  }

  async purgeBefore(before: Date, limit: number): Promise<number> {
    const stale = [...this.records]
      .filter(([, r]) => Date.parse(r.createdAt) < before.getTime())
      .slice(0, limit);
    for (const [slot] of stale) this.records.delete(slot);
    return stale.length;
  }
}
