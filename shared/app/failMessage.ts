import { decodeEnvelope, type QueueEnvelope } from "../domain/envelope.js";
import { isFinal, type StatusRecord, transition } from "../domain/statusRecord.js";
import { abandonCheckpoint } from "./abandonCheckpoint.js";
import { keepDeadLetter } from "./deadLetters.js";
import { flushReport, owedReport } from "./finalReport.js";
import { heldUntil, takenOver } from "./sendClaim.js";
import type { DispatchDeps } from "./services.js";

type FailDeps = Pick<
  DispatchDeps,
  "statuses" | "messages" | "clock" | "reports" | "transports" | "log" | "pacer"
>;

/** Why a message fails; undefined leaves it as it is (another dispatcher holds it). */
type Failure = (
  current: StatusRecord,
) => { reason: string; lastError?: { code?: string; text: string }; possibleDuplicate?: true } | undefined;

/**
 * A final failure. The message's content stays as a dead letter (its envelope plus any attachment blobs) so
 * it can be retried, until FAILED_MESSAGE_RETENTION_DAYS ends it; a message cancelled or sent meanwhile
 * keeps its state and loses its content. A draft left with the provider is deleted, unless it turns out to
 * have been sent: then the message is `sent` after all.
 */
export async function markFailed(
  envelope: QueueEnvelope,
  deps: FailDeps,
  failure: Failure,
): Promise<StatusRecord | undefined> {
  const now = deps.clock.now();
  await keepDeadLetter(envelope, deps.messages);
  let applied = false;
  const record = await deps.statuses.update(envelope.clientId, envelope.id, (r) => {
    applied = false;
    if (isFinal(r.status)) return undefined;
    const failed = failure(r);
    if (!failed) return undefined;
    applied = true;
    const { reason, lastError } = failed;
    return transition(
      r,
      "failed",
      now,
      {
        reason,
        ...(lastError ? { lastError: { ...lastError, at: now.toISOString() } } : {}),
        nextAttemptAt: undefined,
        hasBlobs: true,
        ...(failed.possibleDuplicate ? { possibleDuplicate: true } : {}),
        ...owedReport(r, deps.reports),
      },
      lastError?.code ?? reason,
    );
  });
  if (!applied) {
    // Sent or cancelled meanwhile: its content goes. Held by another dispatcher: it stays for that one.
    if (record && isFinal(record.status)) await deps.messages.deleteMessage(envelope.id);
    return record;
  }
  const settled = record?.checkpoint ? (await abandonCheckpoint(record, deps)).record : record;
  await flushReport(settled, deps);
  return settled;
}

/**
 * Queue trigger for the poison queue: the retry budget is spent, so the message fails with its last error;
 * unless another dispatcher is sending it right now (a second queue message for the same message), which
 * then finishes it.
 */
export async function failMessage(
  item: unknown,
  dequeueCount: number | undefined,
  deps: FailDeps,
): Promise<void> {
  const envelope = decodeEnvelope(item);
  const nowMs = deps.clock.now().getTime();
  const updated = await markFailed(envelope, deps, (r) => {
    const leaseMs = deps.pacer.policy(envelope.mailbox, r.transport).leaseMs;
    if (heldUntil(r, "poison", nowMs, leaseMs) !== undefined) return undefined;
    const last = r.lastError ? `${r.lastError.code ?? ""} ${r.lastError.text}`.trim() : "no error recorded";
    // A `sending` record here lost its dispatcher mid-send: that send may have happened.
    return {
      reason: `gave up after ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}: ${last}`,
      ...takenOver(r),
    };
  });
  deps.log.warn("message moved to poison queue", {
    messageId: envelope.id,
    status: updated?.status,
    dequeueCount,
  });
}
