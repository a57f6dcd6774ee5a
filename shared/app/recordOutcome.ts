import { encodeEnvelope, type QueueEnvelope, withBooking } from "../domain/envelope.js";
import { type StatusRecord, transition } from "../domain/statusRecord.js";
import { describeThrottle } from "../pacing/wording.js";
import type { SendOutcome } from "../transport/outcome.js";
import { markFailed } from "./failMessage.js";
import { recordPartial } from "./partialDelivery.js";
import { recordSent } from "./recordSent.js";
import { owns } from "./sendClaim.js";
import type { DispatchDeps } from "./services.js";

/** Thrown for a transient failure: the queue trigger retries it, and after maxDequeueCount it goes to poison. */
export class TransientSendError extends Error {
  constructor(readonly outcome: Extract<SendOutcome, { kind: "transient" }>) {
    super(`transient send failure: ${outcome.code ?? ""} ${outcome.text}`.trim());
    this.name = "TransientSendError";
  }
}

/**
 * Records what a send attempt came to: sent (content deleted, reported), permanent (dead letter, reported),
 * throttled (deferred to `plannedAt`, the slot pacing booked after the pause; no attempt spent),
 * transient (deferred, then thrown so the queue retries it), or partial (./partialDelivery.ts). Only `sent` is recorded over a claim that
 * another dispatcher took over meanwhile (it is true whoever holds the claim); the rest is that one's to
 * decide.
 */
export async function recordOutcome(
  outcome: SendOutcome,
  envelope: QueueEnvelope,
  owner: string,
  deps: DispatchDeps,
  plannedAt: number | undefined,
): Promise<void> {
  const { clientId, id } = envelope;
  const now = deps.clock.now();
  const at = now.toISOString();
  // Whether the conditional change below was made (the store hands back the record either way).
  let applied = false;
  const mine = (r: StatusRecord) => {
    applied = owns(r, owner);
    return applied;
  };
  switch (outcome.kind) {
    case "partial":
      await recordPartial(outcome, envelope, owner, deps, plannedAt);
      return;
    case "sent":
      await recordSent(
        envelope,
        deps,
        { providerMessageId: outcome.providerMessageId, reason: undefined },
        outcome.reconciled
          ? "an earlier attempt had sent it (the provider said so when asked)"
          : outcome.note,
      );
      return;
    case "permanent":
      await markFailed(envelope, deps, (r) =>
        mine(r)
          ? { reason: outcome.reason ?? outcome.text, lastError: { code: outcome.code, text: outcome.text } }
          : undefined,
      );
      return;
    case "throttled": {
      const plannedMs = plannedAt ?? now.getTime() + outcome.retryAfterMs;
      const nextAttemptAt = new Date(plannedMs).toISOString();
      await deps.statuses.update(clientId, id, (r) =>
        mine(r)
          ? transition(r, "deferred", now, {
              nextAttemptAt,
              reason: describeThrottle(outcome, nextAttemptAt),
              lastError: { code: outcome.code, text: outcome.text, at },
            })
          : undefined,
      );
      if (!applied) return;
      // A mailbox pause booked the message's slot; the tenant's pause did not (shared/app/tenantGate.ts).
      const next = withBooking(envelope, outcome.cause !== "tenantExternal");
      await deps.queue.send(encodeEnvelope(next), { delayMs: Math.max(0, plannedMs - now.getTime()) });
      return;
    }
    case "transient": {
      await deps.statuses.update(clientId, id, (r) =>
        mine(r)
          ? transition(r, "deferred", now, {
              nextAttemptAt: undefined,
              reason: `transient failure, will retry: ${outcome.text}`,
              lastError: { code: outcome.code, text: outcome.text, at },
              ...(outcome.ambiguous ? { possibleDuplicate: true } : {}),
            })
          : undefined,
      );
      if (!applied) return;
      throw new TransientSendError(outcome);
    }
  }
}
