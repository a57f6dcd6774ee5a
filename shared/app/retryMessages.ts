import type { Client } from "../domain/client.js";
import { ProblemError } from "../domain/problem.js";
import type { MessageStatus } from "../domain/statusRecord.js";
import type { Logger } from "../log.js";
import { retryMessage } from "./retryMessage.js";
import type { Services } from "./services.js";

/** What became of one id of a bulk retry: queued again, or why not (the problem a single retry answers). */
export type BulkRetryResult =
  | { id: string; status: MessageStatus }
  | { id: string; problem: { type: string; status: number; detail: string } };

// Retries at once: each is a few storage requests; a hundred ids finish in a few round trips.
const concurrency = 8;

/**
 * Retries failed messages in bulk, each exactly as `POST /api/v1/messages/{id}/retry` would (and recorded
 * the same way); one refusal does not stop the others. Results come back in the order of `ids`.
 */
export async function retryMessages(
  caller: Client,
  ids: readonly string[],
  services: Services,
  log: Logger,
): Promise<BulkRetryResult[]> {
  const results: BulkRetryResult[] = new Array(ids.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < ids.length; i = next++) {
      const id = ids[i]!;
      try {
        results[i] = { id, status: (await retryMessage(caller, id, services, log)).status };
      } catch (error) {
        if (!(error instanceof ProblemError)) throw error;
        results[i] = {
          id,
          problem: { type: error.toBody().type, status: error.status, detail: error.message },
        };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  return results;
}
