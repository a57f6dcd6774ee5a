import type { Client } from "../domain/client.js";
import { ProblemError } from "../domain/problem.js";
import { type MessageStatus, type StatusRecord, transition } from "../domain/statusRecord.js";
import type { Logger } from "../log.js";
import { abandonCheckpoint } from "./abandonCheckpoint.js";
import { messageNotFound } from "./messageNotFound.js";
import { findMessage } from "./scope.js";
import type { Services } from "./services.js";

const cancellable: ReadonlySet<MessageStatus> = new Set(["queued", "scheduled", "deferred"]);

/**
 * Cancels a message not yet handed to a provider, on behalf of `caller` (its owner, or an operator): the
 * timeline says who asked. The status change is conditional (ETag), so it cannot cross the dispatcher's move
 * to `sending`: one of the two wins. Cancelling twice is not an error. A draft an earlier attempt left with
 * the provider is deleted after the cancel is recorded (never before: a dispatcher that found the recorded
 * draft gone would take it for sent); if it had been sent after all, the message is `sent` and the cancel is
 * refused.
 */
export async function cancelMessage(
  caller: Client,
  id: string,
  services: Services,
  log: Logger,
): Promise<StatusRecord> {
  const found = await findMessage(caller, id, services);
  if (!found) throw messageNotFound(id);
  let refused: StatusRecord | undefined;
  const record = await services.statuses.update(found.clientId, id, (r) => {
    refused = undefined;
    if (r.status === "cancelled") return undefined;
    if (!cancellable.has(r.status)) {
      refused = r;
      return undefined;
    }
    return transition(
      r,
      "cancelled",
      services.clock.now(),
      { nextAttemptAt: undefined, reason: `cancelled by ${caller.id}`, hasBlobs: false },
      "cancel requested",
      caller.id,
    );
  });
  if (!record) throw messageNotFound(id);
  if (refused) throw cannotCancel(id, refused);
  const settled = record.checkpoint ? (await abandonCheckpoint(record, { ...services, log })).record : record;
  if (settled.status === "sent") throw cannotCancel(id, settled);
  await services.messages.deleteMessage(id);
  log.info("message cancelled", { messageId: id, clientId: found.clientId, by: caller.id });
  return settled;
}

function cannotCancel(id: string, record: StatusRecord): ProblemError {
  const why = record.status === "sending" ? "sending has begun" : `it is already ${record.status}`;
  return new ProblemError("conflict", `Message ${id} cannot be cancelled: ${why}.`, {
    extensions: { messageStatus: record.status },
  });
}
