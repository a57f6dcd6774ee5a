import type { QueueEnvelope } from "../domain/envelope.js";
import { isFinal, type StatusRecord, transition } from "../domain/statusRecord.js";
import { flushReport, owedReport } from "./finalReport.js";
import type { DispatchDeps } from "./services.js";

/**
 * Records a message as sent (true whoever holds its claim; a final record stays as it is), deletes its content
 * and sends the report it owes. Only content the record says is in Blob storage is deleted: a small message
 * never wrote any, and what a crashed intake left behind is swept by purgeExpired.
 */
export async function recordSent(
  envelope: QueueEnvelope,
  deps: DispatchDeps,
  sent: {
    providerMessageId: string | undefined;
    /** Undefined clears the reason of an earlier attempt. */
    reason: string | undefined;
    lastError?: StatusRecord["lastError"];
  },
  note: string | undefined,
): Promise<void> {
  const now = deps.clock.now();
  let heldBlobs = true;
  const record = await deps.statuses.update(envelope.clientId, envelope.id, (r) => {
    heldBlobs = r.hasBlobs;
    return isFinal(r.status)
      ? undefined
      : transition(
          r,
          "sent",
          now,
          {
            sentAt: now.toISOString(),
            nextAttemptAt: undefined,
            ...sent,
            hasBlobs: false,
            checkpoint: undefined,
            ...owedReport(r, deps.reports),
          },
          note,
        );
  });
  if (heldBlobs) await deps.messages.deleteMessage(envelope.id);
  await flushReport(record, deps);
}
