import type { Config } from "../config.js";
import { idempotencyWindowMs } from "../domain/idempotency.js";
import type { MessageStatus } from "../domain/statusRecord.js";
import type { Logger } from "../log.js";
import type { Clock, IdempotencyStore, MessageStore, StatusStore } from "../storage/ports.js";

export interface RetentionDeps {
  statuses: StatusStore;
  messages: MessageStore;
  idempotency: IdempotencyStore;
  clock: Clock;
  config: Pick<Config, "retention">;
  log: Logger;
}

export interface PurgeReport {
  /** Failed messages whose content (kept for a retry) was deleted. */
  failedContent: number;
  /** Status records deleted, with anything left of their message. */
  records: number;
  idempotencyKeys: number;
}

const pageSize = 100;
// One run does bounded work; what is left goes in the next run.
const maxPagesPerKind = 50;
const finalStatuses: MessageStatus[] = ["sent", "failed", "cancelled"];

/**
 * Deletes what is kept past its retention: the content of failed messages after
 * `FAILED_MESSAGE_RETENTION_DAYS`, final status records after `STATUS_RETENTION_DAYS`, and idempotency keys
 * after their 24 hours. Runs daily (functions/purgeExpired.ts, and hourly under the local host).
 */
export async function purgeExpired(deps: RetentionDeps): Promise<PurgeReport> {
  const now = deps.clock.now().getTime();
  const report: PurgeReport = { failedContent: 0, records: 0, idempotencyKeys: 0 };

  const failedBefore = new Date(now - deps.config.retention.failedMessageMs);
  for (let page = 0; page < maxPagesPerKind; page++) {
    const stale = await deps.statuses.listStale("failed", failedBefore, pageSize, { withBlobs: true });
    if (stale.length === 0) break;
    for (const record of stale) {
      await deps.messages.deleteMessage(record.id);
      await deps.statuses.update(record.clientId, record.id, (r) => ({ ...r, hasBlobs: false }));
      report.failedContent++;
    }
  }

  const recordsBefore = new Date(now - deps.config.retention.statusMs);
  for (const status of finalStatuses) {
    for (let page = 0; page < maxPagesPerKind; page++) {
      const stale = await deps.statuses.listStale(status, recordsBefore, pageSize);
      if (stale.length === 0) break;
      for (const record of stale) {
        if (record.hasBlobs) await deps.messages.deleteMessage(record.id);
        await deps.statuses.delete(record.clientId, record.id);
        report.records++;
      }
    }
  }

  for (let page = 0; page < maxPagesPerKind; page++) {
    const purged = await deps.idempotency.purgeBefore(new Date(now - idempotencyWindowMs), pageSize);
    report.idempotencyKeys += purged;
    if (purged < pageSize) break;
  }
  deps.log.info("retention purge finished", { ...report });
  return report;
}
