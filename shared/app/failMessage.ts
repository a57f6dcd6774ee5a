import { decodeEnvelope, type QueueEnvelope } from "../domain/envelope.js";
import { isFinal, type StatusRecord, transition } from "../domain/statusRecord.js";
import { keepDeadLetter } from "./deadLetters.js";
import type { DispatchDeps } from "./services.js";

type FailDeps = Pick<DispatchDeps, "statuses" | "messages" | "clock" | "reportFinal">;

/**
 * A final failure. The message's content stays as a dead letter (its envelope plus any attachment blobs) so
 * it can be retried, until FAILED_MESSAGE_RETENTION_DAYS ends it; a message cancelled or sent meanwhile
 * keeps its state and loses its content.
 */
export async function markFailed(
  envelope: QueueEnvelope,
  deps: FailDeps,
  failure: (current: StatusRecord) => { reason: string; lastError?: { code?: string; text: string } },
): Promise<StatusRecord | undefined> {
  const now = deps.clock.now();
  await keepDeadLetter(envelope, deps.messages);
  const record = await deps.statuses.update(envelope.clientId, envelope.id, (r) => {
    if (isFinal(r.status)) return undefined;
    const { reason, lastError } = failure(r);
    return transition(
      r,
      "failed",
      now,
      {
        reason,
        ...(lastError ? { lastError: { ...lastError, at: now.toISOString() } } : {}),
        nextAttemptAt: undefined,
        hasBlobs: true,
      },
      lastError?.code ?? reason,
    );
  });
  if (record?.status !== "failed") await deps.messages.deleteMessage(envelope.id);
  else await deps.reportFinal?.(record);
  return record;
}

/** Queue trigger for the poison queue: the retry budget is spent, so the message fails with its last error. */
export async function failMessage(
  item: unknown,
  dequeueCount: number | undefined,
  deps: FailDeps & Pick<DispatchDeps, "log">,
): Promise<void> {
  const envelope = decodeEnvelope(item);
  const updated = await markFailed(envelope, deps, (r) => {
    const last = r.lastError ? `${r.lastError.code ?? ""} ${r.lastError.text}`.trim() : "no error recorded";
    return { reason: `gave up after ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}: ${last}` };
  });
  deps.log.warn("message moved to poison queue", {
    messageId: envelope.id,
    status: updated?.status,
    dequeueCount,
  });
}
