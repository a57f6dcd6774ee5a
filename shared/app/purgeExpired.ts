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
  config: Pick<Config, "retention" | "clients">;
  log: Logger;
}

export interface PurgeReport {
  /** Failed messages whose content (kept for a retry) was deleted. */
  failedContent: number;
  /** Status records deleted, with anything left of their message. */
  records: number;
  idempotencyKeys: number;
  /** Messages whose blobs were left with nothing to send them (a crashed intake), deleted. */
  leftovers: number;
  /** Records given their (missing or outdated) time-index entry: written by an older release. */
  reindexed: number;
}

const pageSize = 100;
// One run does bounded work; what is left goes in the next run.
const maxPagesPerKind = 50;
const finalStatuses: MessageStatus[] = ["sent", "failed", "cancelled"];
/**
 * How old a leftover's newest blob must be before the sweep deletes it: far past the longest intake (an HTTP
 * request to Azure Functions ends after 230 s, https://learn.microsoft.com/azure/azure-functions/functions-scale#timeout),
 * so a message still being read is never taken for one.
 */
export const leftoverAgeMs = 24 * 3600 * 1000;

/**
 * Deletes what is kept past its retention: the content of failed messages after
 * `FAILED_MESSAGE_RETENTION_DAYS`, final status records after `STATUS_RETENTION_DAYS`, and idempotency keys
 * after their 24 hours; and sweeps what a crash left (see `sweepLeftovers`). Before that, it indexes
 * records an older release wrote. Runs daily
 * (functions/purgeExpired.ts, and hourly under the local host).
 */
export async function purgeExpired(deps: RetentionDeps): Promise<PurgeReport> {
  const now = deps.clock.now().getTime();
  const report: PurgeReport = {
    failedContent: 0,
    records: 0,
    idempotencyKeys: 0,
    leftovers: 0,
    reindexed: 0,
  };

  // First, so that what an older release wrote is listed (and found by the retention below) like the rest.
  for (const client of deps.config.clients) {
    const { repaired } = await deps.statuses.reindex(client.id);
    report.reindexed += repaired;
  }

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

  report.leftovers = await sweepLeftovers(deps, new Date(now - leftoverAgeMs));
  deps.log.info("retention purge finished", { ...report });
  return report;
}

/**
 * Deletes the blobs of messages nothing will send: an intake that died mid-request (a crash, a restart, a
 * scale-in) wrote attachments under `{id}/` but never its status record, and a refused request could not
 * delete what it wrote when its process died with it. Every message that needs its blobs has a record that
 * says so (`hasBlobs`), written seconds after them; so blobs all older than `before` whose id no such record
 * names are leftovers. The ids holding content are read first: a record written after that has younger blobs.
 */
async function sweepLeftovers(deps: RetentionDeps, before: Date): Promise<number> {
  const holding = new Set<string>();
  for await (const id of deps.statuses.listWithContent()) holding.add(id);
  let swept = 0;
  for await (const id of deps.messages.listStale(before)) {
    if (holding.has(id)) continue;
    await deps.messages.deleteMessage(id);
    deps.log.warn("leftover blobs deleted", { messageId: id });
    if (++swept >= pageSize * maxPagesPerKind) break;
  }
  return swept;
}
