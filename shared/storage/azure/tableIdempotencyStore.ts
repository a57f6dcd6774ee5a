import { createHash } from "node:crypto";
import { odata, RestError, type TableClient, type TableEntity } from "@azure/data-tables";
import { type IdempotencyRecord, idempotencyRecordSchema, isLive } from "../../domain/idempotency.js";
import type { IdempotencyStore } from "../ports.js";
import { ignoreStale } from "./restErrors.js";

type IdempotencyEntity = TableEntity<{ record: string }>;

/** Idempotency keys in a Table: partition = client, row = SHA-256 of the key (keys may hold characters rows cannot). */
export class AzureTableIdempotencyStore implements IdempotencyStore {
  constructor(private readonly table: TableClient) {}

  async claim(
    clientId: string,
    key: string,
    record: IdempotencyRecord,
    now: Date,
  ): Promise<IdempotencyRecord> {
    const entity: IdempotencyEntity = {
      partitionKey: clientId,
      rowKey: rowKeyOf(key),
      record: JSON.stringify(record),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.table.createEntity(entity);
        return record;
      } catch (error) {
        if (!(error instanceof RestError && error.statusCode === 409)) throw error;
      }
      const held = await this.table.getEntity<IdempotencyEntity>(clientId, entity.rowKey).catch((error) => {
        if (error instanceof RestError && error.statusCode === 404) return undefined;
        throw error;
      });
      if (held) {
        const heldRecord = idempotencyRecordSchema.parse(JSON.parse(held.record));
        if (isLive(heldRecord, now)) return heldRecord;
        // An expired claim: take it over, unless another request does so first (412), then look again.
        try {
          await this.table.updateEntity(entity, "Replace", { etag: held.etag });
          return record;
        } catch (error) {
          if (!(error instanceof RestError && error.statusCode === 412)) throw error;
        }
      }
      if (attempt >= 5) throw new Error(`idempotency key contention for client ${clientId}`);
    }
  }

  async purgeBefore(before: Date, limit: number): Promise<number> {
    const filter = odata`Timestamp lt ${before}`;
    let purged = 0;
    for await (const page of this.table
      .listEntities({ queryOptions: { filter } })
      .byPage({ maxPageSize: limit })) {
      for (const { partitionKey = "", rowKey = "", etag } of page) {
        await this.table.deleteEntity(partitionKey, rowKey, { etag }).catch(ignoreStale);
        purged++;
      }
      break;
    }
    return purged;
  }

  async release(clientId: string, key: string, messageId: string): Promise<void> {
    const rowKey = rowKeyOf(key);
    try {
      const held = await this.table.getEntity<IdempotencyEntity>(clientId, rowKey);
      if (idempotencyRecordSchema.parse(JSON.parse(held.record)).messageId !== messageId) return;
      await this.table.deleteEntity(clientId, rowKey, { etag: held.etag });
    } catch (error) {
      if (error instanceof RestError && (error.statusCode === 404 || error.statusCode === 412)) return;
      throw error;
    }
  }
}

function rowKeyOf(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}
