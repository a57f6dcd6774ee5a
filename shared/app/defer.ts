import { encodeEnvelope, type QueueEnvelope } from "../domain/envelope.js";
import { isFinal, transition } from "../domain/statusRecord.js";
import { heldUntil, takenOver } from "./sendClaim.js";
import type { DispatchDeps } from "./services.js";

/** The dispatcher handling a queue message: its claim's owner and how long a claim lasts. */
export interface ClaimTerms {
  owner: string;
  leaseMs: number;
}

/**
 * Moves the message to `deferred` until `until` (with `reason`; undefined keeps the one it has) and requeues it,
 * visible again at `wakeAt` (a pacing booking wakes a little early; the pacer holds it until its slot).
 * Not over a final status, nor over another dispatcher's live claim (that one took the message meanwhile).
 */
export async function defer(
  envelope: QueueEnvelope,
  deps: Pick<DispatchDeps, "statuses" | "queue" | "clock">,
  claim: ClaimTerms,
  until: number,
  reason: string | undefined,
  wakeAt: number = until,
): Promise<void> {
  const at = deps.clock.now();
  if (reason !== undefined) {
    const nextAttemptAt = new Date(until).toISOString();
    await deps.statuses.update(envelope.clientId, envelope.id, (r) =>
      isFinal(r.status) || heldUntil(r, claim.owner, at.getTime(), claim.leaseMs) !== undefined
        ? undefined
        : transition(r, "deferred", at, { nextAttemptAt, reason, ...takenOver(r) }),
    );
  }
  await requeue(envelope, deps, wakeAt - at.getTime());
}

/** Puts the message back on the queue, invisible for `delayMs`. */
export async function requeue(
  envelope: QueueEnvelope,
  deps: Pick<DispatchDeps, "queue">,
  delayMs: number,
): Promise<void> {
  await deps.queue.send(encodeEnvelope(envelope), { delayMs: Math.max(0, delayMs) });
}
