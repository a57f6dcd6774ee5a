import type { TableClient } from "@azure/data-tables";
import { type PacingState, pacingStateSchema } from "../../pacing/state.js";
import { defaultRetryOptions, optimisticUpdate, type RetryOptions } from "../optimistic.js";
import type { PacingChange, PacingStore, PacingStoreCounters } from "../ports.js";
import { mailboxPartitionKey } from "./mailboxKey.js";
import { TableJsonRecord } from "./tableJsonRecord.js";

/**
 * Pacing state in Azure Table storage: one entity per mailbox, each in its own partition (mailboxes never
 * contend with each other), under optimistic concurrency with ETags (./tableJsonRecord.ts).
 */
export class AzureTablePacingStore implements PacingStore {
  readonly counters: PacingStoreCounters = { reads: 0, writes: 0, conflicts: 0 };

  constructor(
    private readonly table: TableClient,
    private readonly options: RetryOptions = defaultRetryOptions,
  ) {}

  async get(mailbox: string): Promise<PacingState | undefined> {
    this.counters.reads++;
    return (await this.record(mailbox).read())?.state;
  }

  update<T>(mailbox: string, change: (current: PacingState | undefined) => PacingChange<T>): Promise<T> {
    const record = this.record(mailbox);
    return optimisticUpdate(
      mailbox,
      { read: () => record.read(), write: (state, etag) => record.write(state, etag) },
      change,
      this.counters,
      this.options,
    );
  }

  private record(mailbox: string): TableJsonRecord<PacingState> {
    return new TableJsonRecord(
      this.table,
      pacingStateSchema,
      { partitionKey: mailboxPartitionKey(mailbox), rowKey: "pacing" },
      { mailbox: mailbox.toLowerCase() },
    );
  }
}
