import { odata, RestError, type TableClient, type TableEntity } from "@azure/data-tables";
import { z } from "zod";
import { type ActivityCounters, type ActivityHour, type CountedStatus, countedStatuses } from "../ports.js";
import { RecentVersions } from "../recentVersions.js";

const hourMs = 3600_000;
const dayMs = 24 * hourMs;
// Shards per client and hour: a busy hour's increments spread over this many entities.
export const activityShards = 8;
// Attempts of one increment, each on a shard drawn anew; a count that loses them all fails (the caller
// logs and drops it: the overview is a chart, not a ledger).
const attempts = 10;

/** One shard of one client's hour. Version 1. */
const countsSchema = z.object({
  v: z.literal(1),
  sent: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  deferred: z.number().int().nonnegative(),
});
type CountsEntity = TableEntity<{ counts: string }>;

/** `20261201` and `13`: the UTC day (the partition: a 24 h chart reads two) and hour of `ms`. */
function dayAndHour(ms: number): { day: string; hour: string } {
  const iso = new Date(ms).toISOString();
  return { day: iso.slice(0, 10).replaceAll("-", ""), hour: iso.slice(11, 13) };
}

/**
 * Hourly counts in Azure Table storage, sharded: partition = UTC day, row = `<hour>~<client>~<shard>`. Each
 * increment writes one shard under its ETag; a lost race retries on another random shard, so no single entity
 * takes every message's write (Azure's sharded counter advice: spread writes that would otherwise contend over
 * several entities). A process keeps to the shard it last won and remembers its counts and ETag, so that its
 * next increment writes without reading: instances settle on shards of their own.
 */
export class AzureTableActivityCounters implements ActivityCounters {
  private readonly shardOf = new Map<string, number>();
  private readonly recent: RecentVersions<z.infer<typeof countsSchema>, string>;

  constructor(
    private readonly table: TableClient,
    private readonly random: () => number = Math.random,
    /** Shards remembered with their ETags (0: every increment reads its shard first, on a random shard). */
    remembered = 64,
  ) {
    this.recent = new RecentVersions(remembered);
  }

  async add(clientId: string, at: Date, counts: Partial<Record<CountedStatus, number>>): Promise<void> {
    const { day, hour } = dayAndHour(at.getTime());
    const plus = (current: z.infer<typeof countsSchema>) => {
      const next = { ...current };
      for (const status of countedStatuses) next[status] += counts[status] ?? 0;
      return countsSchema.parse(next);
    };
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const shard = this.shardOf.get(clientId) ?? Math.floor(this.random() * activityShards);
      const rowKey = `${hour}~${clientId}~${shard}`;
      const key = `${day}/${rowKey}`;
      const remembered = this.recent.get(key);
      try {
        const entity = remembered
          ? { counts: remembered.state, etag: remembered.version }
          : await this.table.getEntity<CountsEntity>(day, rowKey).then(
              (e) => ({ counts: countsSchema.parse(JSON.parse(e.counts)), etag: e.etag }),
              (error: unknown) => {
                if (error instanceof RestError && error.statusCode === 404) return undefined;
                throw error;
              },
            );
        const next = plus(entity?.counts ?? { v: 1, sent: 0, failed: 0, deferred: 0 });
        const written = entity
          ? await this.table.updateEntity(
              { partitionKey: day, rowKey, counts: JSON.stringify(next) },
              "Replace",
              { etag: entity.etag },
            )
          : await this.table.createEntity({ partitionKey: day, rowKey, counts: JSON.stringify(next) });
        if (this.recent.capacity > 0) this.shardOf.set(clientId, shard);
        this.recent.set(key, next, written.etag);
        return;
      } catch (error) {
        if (!(error instanceof RestError && (error.statusCode === 409 || error.statusCode === 412)))
          throw error;
        this.recent.delete(key);
        // A remembered version gone stale: another writer took this shard. Draw one anew, and (unless it was
        // only a stale memory) wait a little, exponentially.
        this.shardOf.delete(clientId);
        if (!remembered)
          await new Promise((resolve) =>
            setTimeout(resolve, this.random() * Math.min(200, 5 * 2 ** attempt)),
          );
      }
    }
    throw new Error(`the counts of ${clientId} stayed contended over ${attempts} attempts`);
  }

  async read(from: Date, to: Date): Promise<ActivityHour[]> {
    const byHour = new Map<string, ActivityHour>();
    const firstDay = Math.floor(from.getTime() / dayMs) * dayMs;
    for (let dayStart = firstDay; dayStart < to.getTime(); dayStart += dayMs) {
      const { day } = dayAndHour(dayStart);
      for await (const entity of this.table.listEntities<CountsEntity>({
        queryOptions: { filter: odata`PartitionKey eq ${day}` },
      })) {
        const [hour = "", clientId = ""] = (entity.rowKey ?? "").split("~");
        const hourStartMs = dayStart + Number(hour) * hourMs;
        if (hourStartMs < from.getTime() || hourStartMs >= to.getTime()) continue;
        const counts = countsSchema.parse(JSON.parse(entity.counts));
        const key = `${hourStartMs}~${clientId}`;
        const sum = byHour.get(key) ?? {
          hourStartMs,
          clientId,
          counts: { sent: 0, failed: 0, deferred: 0 },
        };
        for (const status of countedStatuses) sum.counts[status] += counts[status];
        byHour.set(key, sum);
      }
    }
    return [...byHour.values()].sort((a, b) => a.hourStartMs - b.hourStartMs);
  }
}
