import { RestError, type TableClient, type TableEntity } from "@azure/data-tables";
import { type PacingState, pacingStateSchema } from "../../pacing/state.js";
import { defaultRetryOptions, optimisticUpdate, type RetryOptions } from "../optimistic.js";
import type { PacingChange, PacingStore, PacingStoreCounters } from "../ports.js";

type PacingEntity = TableEntity<{ mailbox: string; state: string }>;

// One entity per mailbox, each in its own partition: mailboxes never contend with each other.
const rowKey = "pacing";

/** Table keys may not hold '/', '\\', '#', '?' or control characters; a local part may hold several. */
function partitionKey(mailbox: string): string {
  return encodeURIComponent(mailbox.toLowerCase());
}

/**
 * Pacing state in Azure Table storage: `createEntity` for a mailbox's first reservation (409 if another
 * instance was first), `updateEntity` with the ETag read (412 if another instance wrote in between).
 */
export class AzureTablePacingStore implements PacingStore {
  readonly counters: PacingStoreCounters = { reads: 0, writes: 0, conflicts: 0 };

  constructor(
    private readonly table: TableClient,
    private readonly options: RetryOptions = defaultRetryOptions,
  ) {}

  async get(mailbox: string): Promise<PacingState | undefined> {
    this.counters.reads++;
    return (await this.read(mailbox))?.state;
  }

  update<T>(mailbox: string, change: (current: PacingState | undefined) => PacingChange<T>): Promise<T> {
    return optimisticUpdate(
      mailbox,
      {
        read: () => this.read(mailbox),
        write: async (state, etag) => {
          const entity: PacingEntity = {
            partitionKey: partitionKey(mailbox),
            rowKey,
            mailbox: mailbox.toLowerCase(),
            state: JSON.stringify(pacingStateSchema.parse(state)),
          };
          try {
            if (etag === undefined) await this.table.createEntity(entity);
            else await this.table.updateEntity(entity, "Replace", { etag });
            return true;
          } catch (error) {
            if (error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412))
              return false;
            throw error;
          }
        },
      },
      change,
      this.counters,
      this.options,
    );
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

  private async read(mailbox: string): Promise<{ state: PacingState; version: string } | undefined> {
    try {
      const entity = await this.table.getEntity<PacingEntity>(partitionKey(mailbox), rowKey);
      return { state: pacingStateSchema.parse(JSON.parse(entity.state)), version: entity.etag };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }
}
