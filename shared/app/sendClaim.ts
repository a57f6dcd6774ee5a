import { isFinal, type SendCheckpoint, type StatusRecord, transition } from "../domain/statusRecord.js";
import type { StatusStore } from "../storage/ports.js";

/** The dispatcher's claim on a message was taken over (it outlived its expiry): this attempt stops. */
export class ClaimLostError extends Error {
  constructor(id: string) {
    super(`message ${id} is claimed by another dispatcher now`);
    this.name = "ClaimLostError";
  }
}

/**
 * When a live claim of another dispatcher holds the message, the epoch ms it ends; undefined when `owner`
 * may go ahead (no claim, its own, or an expired one). A `sending` record without a claim was written by
 * the previous release, whose dispatchers do not claim: it counts as claimed for one lease after its last
 * change, so an old instance that is still sending is not overtaken.
 */
export function heldUntil(
  record: StatusRecord,
  owner: string,
  nowMs: number,
  leaseMs: number,
): number | undefined {
  if (record.status !== "sending") return undefined;
  const { claim } = record;
  if (claim?.owner === owner) return undefined;
  const untilMs = claim ? Date.parse(claim.expiresAt) : Date.parse(record.updatedAt) + leaseMs;
  return untilMs > nowMs ? untilMs : undefined;
}

/** `record` moved to `sending` under `owner`'s claim for `leaseMs`, one attempt more; undefined when it may not. */
export function claimed(
  record: StatusRecord,
  owner: string,
  now: Date,
  leaseMs: number,
): StatusRecord | undefined {
  if (isFinal(record.status) || heldUntil(record, owner, now.getTime(), leaseMs) !== undefined)
    return undefined;
  return transition(record, "sending", now, {
    attempts: record.attempts + 1,
    nextAttemptAt: undefined,
    reason: undefined,
    claim: { owner, expiresAt: new Date(now.getTime() + leaseMs).toISOString() },
    ...takenOver(record),
  });
}

/**
 * The change for moving a `sending` record whose claim another dispatcher held (and let expire) to any other
 * state: that send may have happened (its dispatcher died, or could not record the outcome), and without a
 * checkpoint to ask the provider about, the recipients may get the message twice.
 */
export function takenOver(record: StatusRecord): { possibleDuplicate?: true } {
  return record.status === "sending" && record.checkpoint === undefined ? { possibleDuplicate: true } : {};
}

/** True while `owner` holds the claim of a `sending` record. */
export const owns = (record: StatusRecord, owner: string): boolean =>
  record.status === "sending" && record.claim?.owner === owner;

/** Records `checkpoint` (undefined clears it) while `owner` still holds the claim; throws ClaimLostError otherwise. */
export async function saveCheckpoint(
  statuses: StatusStore,
  record: Pick<StatusRecord, "clientId" | "id">,
  owner: string,
  checkpoint: SendCheckpoint | undefined,
): Promise<void> {
  const stored = await statuses.update(record.clientId, record.id, (r) =>
    owns(r, owner) ? { ...r, checkpoint } : undefined,
  );
  if (!stored || !owns(stored, owner)) throw new ClaimLostError(record.id);
}
