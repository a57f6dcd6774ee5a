import { encodeEnvelope, type QueueEnvelope } from "../domain/envelope.js";
import { isFinal, transition } from "../domain/statusRecord.js";
import type { DispatchDeps } from "./services.js";

/** Moves the message to `deferred` until `until` (with `reason`; undefined keeps the one it has) and requeues it. */
export async function defer(
  envelope: QueueEnvelope,
  deps: Pick<DispatchDeps, "statuses" | "queue" | "clock">,
  until: number,
  reason: string | undefined,
): Promise<void> {
  const at = deps.clock.now();
  if (reason !== undefined) {
    const nextAttemptAt = new Date(until).toISOString();
    await deps.statuses.update(envelope.clientId, envelope.id, (r) =>
      isFinal(r.status) ? undefined : transition(r, "deferred", at, { nextAttemptAt, reason }),
    );
  }
  await requeue(envelope, deps, until - at.getTime());
}

/** Puts the message back on the queue, invisible for `delayMs`. */
export async function requeue(
  envelope: QueueEnvelope,
  deps: Pick<DispatchDeps, "queue">,
  delayMs: number,
): Promise<void> {
  await deps.queue.send(encodeEnvelope(envelope), { delayMs: Math.max(0, delayMs) });
}
