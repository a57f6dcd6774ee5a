import type { TableClient } from "@azure/data-tables";
import { type TenantPacingState, tenantPacingStateSchema } from "../../pacing/tenant.js";
import { defaultRetryOptions, optimisticUpdate, type RetryOptions } from "../optimistic.js";
import type { PacingStoreCounters, StateChange, TenantPacingStore } from "../ports.js";
import { RecentVersions } from "../recentVersions.js";
import { TableJsonRecord } from "./tableJsonRecord.js";

/**
 * The tenant's pacing state in the pacing table, one entity for the deployment (it serves one tenant). Its
 * partition key has no "%40", so it can never be a mailbox's (./mailboxKey.ts). It is written only when a
 * pause starts, a probe is taken or a probe ends: rarely, so one partition is no hot spot.
 */
export class AzureTableTenantPacingStore implements TenantPacingStore {
  readonly counters: PacingStoreCounters = { reads: 0, writes: 0, conflicts: 0 };
  private readonly record: TableJsonRecord<TenantPacingState>;
  // The one state and its ETag as this process last read or wrote it (../optimistic.ts).
  private readonly recent = new RecentVersions<TenantPacingState, string>(1);

  constructor(
    table: TableClient,
    private readonly options: RetryOptions = defaultRetryOptions,
  ) {
    this.record = new TableJsonRecord(table, tenantPacingStateSchema, {
      partitionKey: "tenant",
      rowKey: "pacing",
    });
  }

  async get(): Promise<TenantPacingState | undefined> {
    this.counters.reads++;
    return (await this.record.read())?.state;
  }

  update<T>(
    change: (current: TenantPacingState | undefined) => StateChange<TenantPacingState, T>,
  ): Promise<T> {
    return optimisticUpdate(
      "the tenant",
      { read: () => this.record.read(), write: (state, etag) => this.record.write(state, etag) },
      change,
      this.counters,
      this.options,
      this.recent,
    );
  }
}
