import type { TableClient, TableEntity } from "@azure/data-tables";
import { type PacingState, pacingStateSchema } from "../../pacing/state.js";
import { GroupCommit } from "../groupCommit.js";
import { defaultRetryOptions, optimisticUpdate, type RetryOptions } from "../optimistic.js";
import type { PacingChange, PacingStore, PacingStoreCounters } from "../ports.js";
import { RecentVersions } from "../recentVersions.js";
import { mailboxPartitionKey } from "./mailboxKey.js";
import { TableJsonRecord } from "./tableJsonRecord.js";

type PacingEntity = TableEntity<{ mailbox: string; state: string }>;

// The row of a mailbox's state; the tenant's state shares the table under another row (./tableTenantPacingStore.ts).
const rowKey = "pacing";
/**
 * Mailboxes whose last state and ETag this process remembers, so that a reserve or release that follows this
 * process's own last write of the mailbox writes without reading first (../optimistic.ts).
 */
export const recentMailboxes = 1000;

/**
 * Pacing state in Azure Table storage: one entity per mailbox, each in its own partition (mailboxes never
 * contend with each other), under optimistic concurrency with ETags (./tableJsonRecord.ts).
 */
export class AzureTablePacingStore implements PacingStore {
  readonly counters: PacingStoreCounters = { reads: 0, writes: 0, conflicts: 0 };
  private readonly recent: RecentVersions<PacingState, string>;
  // Reserves and releases of one mailbox that meet in this process share a write (../groupCommit.ts).
  private readonly groups = new GroupCommit<PacingState>((mailbox, change) => this.store(mailbox, change));

  constructor(
    private readonly table: TableClient,
    private readonly options: RetryOptions = defaultRetryOptions,
    /**
     * Mailboxes remembered with their ETags, and whether one process's concurrent changes of a mailbox share a
     * write. `{ remembered: 0, grouped: false }` is the previous release's way: read before every write.
     */
    private readonly savings = { remembered: recentMailboxes, grouped: true },
  ) {
    this.recent = new RecentVersions(savings.remembered);
  }

  async get(mailbox: string): Promise<PacingState | undefined> {
    this.counters.reads++;
    return (await this.record(mailbox).read())?.state;
  }

  update<T>(mailbox: string, change: (current: PacingState | undefined) => PacingChange<T>): Promise<T> {
    const key = mailbox.toLowerCase();
    return this.savings.grouped ? this.groups.update(key, change) : this.store(key, change);
  }

  /** One entity per mailbox across the table: a listing of mailboxes, not of messages (1,000 per request). */
  async list(limit: number): Promise<{ mailbox: string; state: PacingState }[]> {
    const found: { mailbox: string; state: PacingState }[] = [];
    for await (const entity of this.table.listEntities<PacingEntity>()) {
      if (entity.rowKey !== rowKey) continue;
      found.push({ mailbox: entity.mailbox, state: pacingStateSchema.parse(JSON.parse(entity.state)) });
      if (found.length >= limit) break;
    }
    return found;
  }

  /** One optimistic read-change-write of the mailbox's record (../optimistic.ts). */
  private store<T>(
    mailbox: string,
    change: (current: PacingState | undefined) => PacingChange<T>,
  ): Promise<T> {
    const record = this.record(mailbox);
    return optimisticUpdate(
      mailbox,
      { read: () => record.read(), write: (state, etag) => record.write(state, etag) },
      change,
      this.counters,
      this.options,
      this.recent,
    );
  }

  private record(mailbox: string): TableJsonRecord<PacingState> {
    return new TableJsonRecord(
      this.table,
      pacingStateSchema,
      { partitionKey: mailboxPartitionKey(mailbox), rowKey },
      { mailbox: mailbox.toLowerCase() },
    );
  }
}
