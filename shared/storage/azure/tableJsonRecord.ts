import { RestError, type TableClient, type TableEntity } from "@azure/data-tables";
import type { z } from "zod";
import type { Versioned, Written } from "../optimistic.js";

type JsonEntity = TableEntity<{ state: string } & Record<string, string>>;

/**
 * One versioned JSON state in one Table entity, read with its ETag and written only if the ETag still holds:
 * `createEntity` when there was none (409 if another instance was first), `updateEntity` with the ETag read
 * (412 if another instance wrote in between). A write resolves to the entity's new ETag; both losses resolve
 * to not stored, and the optimistic loop retries.
 */
export class TableJsonRecord<S> {
  constructor(
    private readonly table: TableClient,
    private readonly schema: z.ZodType<S>,
    private readonly keys: { partitionKey: string; rowKey: string },
    /** Plain properties stored beside the state, for people reading the table. */
    private readonly labels: Record<string, string> = {},
  ) {}

  async read(): Promise<Versioned<S, string> | undefined> {
    try {
      const entity = await this.table.getEntity<JsonEntity>(this.keys.partitionKey, this.keys.rowKey);
      return { state: this.schema.parse(JSON.parse(entity.state)), version: entity.etag };
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async write(state: S, etag: string | undefined): Promise<Written<string>> {
    const entity: JsonEntity = {
      ...this.keys,
      ...this.labels,
      state: JSON.stringify(this.schema.parse(state)),
    };
    try {
      const response =
        etag === undefined
          ? await this.table.createEntity(entity)
          : await this.table.updateEntity(entity, "Replace", { etag });
      return { stored: true, version: response.etag };
    } catch (error) {
      if (error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412))
        return { stored: false };
      throw error;
    }
  }
}
