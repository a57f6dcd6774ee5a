import type { Client } from "../domain/client.js";
import { encodeEnvelope } from "../domain/envelope.js";
import { ProblemError } from "../domain/problem.js";
import { type StatusRecord, transition } from "../domain/statusRecord.js";
import type { Logger } from "../log.js";
import { loadDeadLetter } from "./deadLetters.js";
import { messageNotFound } from "./messageNotFound.js";
import { findMessage } from "./scope.js";
import type { Services } from "./services.js";

/**
 * Sends a failed message again from its dead letter, on behalf of `caller` (its owner, or an operator): the
 * timeline says who asked. The move from `failed` to `queued` is conditional, so two retries at once enqueue
 * it once.
 */
export async function retryMessage(
  caller: Client,
  id: string,
  services: Services,
  log: Logger,
): Promise<StatusRecord> {
  const current = await findMessage(caller, id, services);
  if (!current) throw messageNotFound(id);
  if (current.status !== "failed") {
    throw new ProblemError(
      "conflict",
      `Message ${id} is ${current.status}; only failed messages can be retried.`,
      {
        extensions: { messageStatus: current.status },
      },
    );
  }
  const envelope = current.hasBlobs ? await loadDeadLetter(id, services.messages) : undefined;
  if (!envelope) {
    throw new ProblemError("conflict", `Message ${id} can no longer be retried: its content was not kept.`, {
      extensions: { messageStatus: current.status },
    });
  }
  let raced = false;
  const record = await services.statuses.update(current.clientId, id, (r) => {
    raced = r.status !== "failed";
    if (raced) return undefined;
    return transition(
      r,
      "queued",
      services.clock.now(),
      { reason: `retry requested by ${caller.id}` },
      "retry requested",
      caller.id,
    );
  });
  if (!record || raced) throw new ProblemError("conflict", `Message ${id} was retried or changed meanwhile.`);
  await services.queue.send(encodeEnvelope(envelope));
  log.info("failed message retried", { messageId: id, clientId: current.clientId, by: caller.id });
  return record;
}
