import type { StatusRecord } from "../domain/statusRecord.js";
import type { StatusStore } from "../storage/ports.js";

/** Delivery webhooks of final statuses (`sent`, `failed`), as the dispatcher sees them. */
export interface FinalReports {
  /** Whether `record`'s message or client asked for a webhook. */
  wanted(record: StatusRecord): boolean;
  /** Queues the webhook of a final record. */
  enqueue(record: StatusRecord): Promise<void>;
}

/** The change that marks a final record's report as owed, in the same write as the final status (an outbox). */
export function owedReport(
  record: StatusRecord,
  reports: FinalReports | undefined,
): { reportPending?: true } {
  return reports?.wanted(record) ? { reportPending: true } : {};
}

/**
 * Queues the report a final record owes, then clears the flag. Should queueing fail, the error reaches the
 * invocation: the queue delivers the message again, and the dispatcher, finding it final with the flag still
 * set, queues the report then (a receiver may get one report twice, never none).
 */
export async function flushReport(
  record: StatusRecord | undefined,
  deps: { statuses: StatusStore; reports?: FinalReports },
): Promise<void> {
  if (!record?.reportPending) return;
  if (deps.reports) await deps.reports.enqueue(record);
  await deps.statuses.update(record.clientId, record.id, (r) =>
    r.reportPending ? { ...r, reportPending: undefined } : undefined,
  );
}
