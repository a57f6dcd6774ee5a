import { randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { startAzurite } from "../dev/azurite.js";
import { type StatusRecord, transition } from "../shared/domain/statusRecord.js";
import { AzureTableActivityCounters } from "../shared/storage/azure/tableActivityCounters.js";
import { AzureTableStatusStore } from "../shared/storage/azure/tableStatusStore.js";
import { CoalescingCounters } from "../shared/storage/coalescingCounters.js";
import { CountingStatusStore } from "../shared/storage/countingStatusStore.js";
import { printTable } from "./table.js";

/**
 * What a message's status writes cost against Azurite: create, then sending, then sent (the dispatcher's
 * path). Baseline: the previous release's record-only writes (create; read + conditional replace); then the
 * record with its time-index entry in one transaction; then that plus the overview's sharded counter.
 * Rounds alternate the variants so that machine load hits all alike.
 */
type Lifecycle = (record: StatusRecord) => Promise<void>;

const at = (offsetMs: number) => new Date(Date.parse("2026-03-01T10:00:00.000Z") + offsetMs);

function newRecord(clientId: string): StatusRecord {
  const createdAt = at(0).toISOString();
  return {
    v: 2,
    id: randomUUID(),
    clientId,
    status: "queued",
    transport: "smtp",
    mailbox: "scanner@contoso.com",
    recipients: 1,
    subject: "Bench",
    createdAt,
    updatedAt: createdAt,
    attempts: 0,
    hasBlobs: false,
    timeline: [{ at: createdAt, status: "queued" }],
  };
}

/** The previous release's adapter, reduced to what this path does. */
function recordOnly(table: TableClient): Lifecycle {
  const entity = (r: StatusRecord) => ({
    partitionKey: r.clientId,
    rowKey: r.id,
    status: r.status,
    hasBlobs: r.hasBlobs,
    record: JSON.stringify(r),
  });
  const move = async (r: StatusRecord, status: StatusRecord["status"], ms: number) => {
    const current = await table.getEntity<{ record: string }>(r.clientId, r.id);
    const next = transition(JSON.parse(current.record) as StatusRecord, status, at(ms));
    await table.updateEntity(entity(next), "Replace", { etag: current.etag });
  };
  return async (r) => {
    await table.createEntity(entity(r));
    await move(r, "sending", 1000);
    await move(r, "sent", 2000);
  };
}

function throughStore(store: AzureTableStatusStore | CountingStatusStore): Lifecycle {
  return async (r) => {
    await store.create(r);
    await store.update(r.clientId, r.id, (c) => transition(c, "sending", at(1000)));
    await store.update(r.clientId, r.id, (c) => transition(c, "sent", at(2000)));
  };
}

async function measure(lifecycle: Lifecycle, clientId: string, messages: number, inFlight: number) {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next++ < messages) await lifecycle(newRecord(clientId));
    }),
  );
  return (performance.now() - started) / messages;
}

export async function run(): Promise<void> {
  const azurite = await startAzurite();
  try {
    const table = async (name: string) => {
      const client = TableClient.fromConnectionString(azurite.connectionString, name, {
        allowInsecureConnection: true,
      });
      await client.createTable();
      return client;
    };
    const statusTable = await table("benchstatus");
    // As the composition root builds it: sharded counters behind one writer per process and hour.
    const activity = new CoalescingCounters(new AzureTableActivityCounters(await table("benchactivity")));
    const variants: [string, Lifecycle, string][] = [
      ["record only (previous release)", recordOnly(statusTable), "5"],
      ["record + time index (one transaction)", throughStore(new AzureTableStatusStore(statusTable)), "5"],
      [
        "record + index + overview counter",
        throughStore(
          new CountingStatusStore(new AzureTableStatusStore(statusTable), activity, (error) => {
            throw error;
          }),
        ),
        "≤ 7",
      ],
    ];
    const rows: Record<string, string | number>[] = [];
    for (const [inFlight, messages] of [
      [1, 100],
      [32, 320],
    ] as const) {
      const samples = new Map<string, number[]>();
      for (let round = 0; round < 3; round++) {
        for (const [name, lifecycle] of variants) {
          // Each variant its own client partition, one client for all in-flight messages (the worst case).
          const ms = await measure(lifecycle, `${name.length}-${round}-${inFlight}`, messages, inFlight);
          samples.set(name, [...(samples.get(name) ?? []), ms]);
        }
      }
      for (const [name, , requests] of variants) {
        const sorted = [...(samples.get(name) ?? [])].sort((a, b) => a - b);
        rows.push({
          variant: name,
          "in flight": inFlight,
          "requests/message": requests,
          "ms/message (median of 3)": sorted[1] ?? 0,
        });
      }
    }
    printTable("Status writes per message (create, sending, sent) against Azurite", rows);
  } finally {
    await azurite.stop();
  }
}
