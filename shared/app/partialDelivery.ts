import { encodeEnvelope, type QueueEnvelope, withBooking } from "../domain/envelope.js";
import { transition } from "../domain/statusRecord.js";
import type { RefusedRecipient, SendOutcome } from "../transport/outcome.js";
import { recordSent } from "./recordSent.js";
import { owns } from "./sendClaim.js";
import type { DispatchDeps } from "./services.js";

type Partial = Extract<SendOutcome, { kind: "partial" }>;

// A refused recipient that is only deferred (4xx) is tried again after this long, at most this many attempts.
const transientRetryMs = 60_000;
const maxAttempts = 5;

const describe = (refused: RefusedRecipient[]) =>
  refused
    .map((r) => `${r.address} (${[r.outcome.code, r.outcome.text].filter(Boolean).join(" ")})`)
    .join("; ");

/**
 * Records a delivery that reached some recipients while others were refused at RCPT. Nothing is dropped
 * silently: refusals that say "later" (550 5.7.233 for the external ones, 4xx) send the same message again to
 * those recipients only (the queue envelope's `only`, same Message-ID), and refusals for good are named in
 * the status; the message becomes `sent` once no recipient is left to try. As in ./recordOutcome.ts, the
 * deferral is recorded only while `owner` still holds the message's claim; `sent` is true whoever holds it.
 */
export async function recordPartial(
  outcome: Partial,
  envelope: QueueEnvelope,
  owner: string,
  deps: DispatchDeps,
  tenantPlannedAt: number | undefined,
): Promise<void> {
  const { clientId, id } = envelope;
  const now = deps.clock.now();
  const at = now.toISOString();
  const attempts = (await deps.statuses.get(clientId, id))?.attempts ?? 0;
  const retryable = outcome.refused.filter(
    (r) => r.outcome.kind === "throttled" || (r.outcome.kind === "transient" && attempts < maxAttempts),
  );
  const lost = outcome.refused.filter((r) => !retryable.includes(r));
  const delivered = Math.max(0, envelope.recipients - outcome.refused.length);
  const lastError = { code: outcome.refused[0]?.outcome.code, text: describe(outcome.refused), at };
  const lostText = lost.length > 0 ? `; refused for good: ${describe(lost)}` : "";

  if (retryable.length === 0) {
    await recordSent(
      envelope,
      deps,
      {
        providerMessageId: outcome.providerMessageId,
        reason: `sent to ${delivered} recipient${delivered === 1 ? "" : "s"}${lostText}`,
        lastError,
      },
      `partial: ${lost.length} refused`,
    );
    return;
  }
  const throttles = retryable.flatMap((r) =>
    r.outcome.kind === "throttled" ? [r.outcome.retryAfterMs] : [],
  );
  const delayMs =
    tenantPlannedAt !== undefined
      ? tenantPlannedAt - now.getTime()
      : throttles.length > 0
        ? Math.max(...throttles)
        : transientRetryMs;
  const nextAttemptAt = new Date(now.getTime() + Math.max(0, delayMs)).toISOString();
  // The rest waits for its refusal's time, not for a slot the mailbox's pacing booked.
  const rest: QueueEnvelope = withBooking(
    { ...envelope, only: retryable.map((r) => r.address), recipients: retryable.length },
    false,
  );
  let applied = false;
  await deps.statuses.update(clientId, id, (r) => {
    applied = owns(r, owner);
    if (!applied) return undefined;
    return transition(
      r,
      "deferred",
      now,
      {
        nextAttemptAt,
        reason:
          `delivered to ${delivered} recipient${delivered === 1 ? "" : "s"}; ${retryable.length} will be tried ` +
          `again at ${nextAttemptAt}: ${describe(retryable)}${lostText}`,
        lastError,
      },
      `partial: delivered to ${delivered}, ${retryable.length} to retry, ${lost.length} refused`,
    );
  });
  if (!applied) return;
  await deps.queue.send(encodeEnvelope(rest), { delayMs: Math.max(0, delayMs) });
}
