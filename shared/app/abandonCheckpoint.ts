import type { TransportName } from "../domain/client.js";
import { type StatusRecord, transition } from "../domain/statusRecord.js";
import type { Logger } from "../log.js";
import type { Clock, MessageStore, StatusStore } from "../storage/ports.js";
import type { AbandonResult, Transport } from "../transport/transport.js";

export interface AbandonDeps {
  statuses: StatusStore;
  messages: MessageStore;
  transports: ReadonlyMap<TransportName, Transport>;
  clock: Clock;
  log: Logger;
}

/**
 * Settles the checkpoint of a message that has just become final without being sent by this attempt
 * (cancelled, failed): asks the provider, deletes the draft when it still is one, and corrects the status
 * to `sent` when an earlier attempt had sent it after all. When the provider cannot tell now, the
 * checkpoint stays on the record (a retry of a failed message asks again before it sends). Resolves to the
 * record as it stands afterwards.
 */
export async function abandonCheckpoint(
  record: StatusRecord,
  deps: AbandonDeps,
): Promise<{ record: StatusRecord; result: AbandonResult | "unknown" }> {
  const { checkpoint } = record;
  if (!checkpoint) return { record, result: "discarded" };
  const transport = deps.transports.get(record.transport);
  let result: AbandonResult | "unknown" = "unknown";
  try {
    if (transport?.abandon) result = await transport.abandon(checkpoint);
  } catch (error) {
    deps.log.warn("could not settle the provider's draft; it stays recorded", {
      messageId: record.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
  if (result === "unknown") return { record, result };
  const status = record.status;
  const now = deps.clock.now();
  const updated = await deps.statuses.update(record.clientId, record.id, (r) => {
    if (r.status !== status || r.checkpoint?.id !== checkpoint.id) return undefined;
    if (result === "discarded") return { ...r, checkpoint: undefined };
    return transition(
      r,
      "sent",
      now,
      {
        sentAt: now.toISOString(),
        providerMessageId: checkpoint.id,
        reason: undefined,
        hasBlobs: false,
        checkpoint: undefined,
      },
      `an earlier attempt had sent it (found when the message became ${status})`,
    );
  });
  if (result === "sent") await deps.messages.deleteMessage(record.id);
  return { record: updated ?? record, result };
}
