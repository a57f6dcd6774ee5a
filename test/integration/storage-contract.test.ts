import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StatusRecord, transition } from "../../shared/domain/statusRecord.js";
import { azureStorage } from "../../shared/storage/azure/account.js";
import { MemoryActivityCounters } from "../../shared/storage/memory/activityCounters.js";
import { MemoryIdempotencyStore } from "../../shared/storage/memory/idempotencyStore.js";
import { MemoryLoginHistoryStore } from "../../shared/storage/memory/loginHistoryStore.js";
import { MemoryMessageStore } from "../../shared/storage/memory/messageStore.js";
import { MemoryQueue } from "../../shared/storage/memory/queue.js";
import { MemoryStatusStore } from "../../shared/storage/memory/statusStore.js";
import {
  type ActivityCounters,
  type IdempotencyStore,
  InvalidResumeError,
  type LoginHistoryStore,
  type MessageStore,
  type OutboundQueue,
  resumeAfter,
  StatusConflictError,
  type StatusStore,
} from "../../shared/storage/ports.js";
import { storageConnection, uniqueStorageNames } from "../support/env.js";

function record(id: string, clientId = "c1"): StatusRecord {
  const at = "2026-01-01T00:00:00.000Z";
  return {
    v: 2,
    id,
    clientId,
    status: "queued",
    transport: "smtp",
    mailbox: "a@contoso.com",
    recipients: 1,
    createdAt: at,
    updatedAt: at,
    attempts: 0,
    hasBlobs: false,
    timeline: [{ at, status: "queued" }],
  };
}

interface Adapters {
  messages: MessageStore;
  statuses: StatusStore;
  idempotency: IdempotencyStore;
  activity: ActivityCounters;
  queue: OutboundQueue;
  logins: LoginHistoryStore;
}

/** One contract, two adapters: the Azure ones against Azurite and the in-memory fakes. */
const suites: [string, () => Promise<Adapters>][] = [
  [
    "memory",
    async () => ({
      messages: new MemoryMessageStore(),
      statuses: new MemoryStatusStore(),
      idempotency: new MemoryIdempotencyStore(),
      activity: new MemoryActivityCounters(),
      queue: new MemoryQueue(),
      logins: new MemoryLoginHistoryStore(),
    }),
  ],
  [
    "azure",
    async () => {
      const storage = azureStorage(
        { kind: "connectionString", connectionString: storageConnection() },
        uniqueStorageNames(),
      );
      await storage.ensure();
      return storage;
    },
  ],
];

describe.each(suites)("storage contract: %s", (_name, make) => {
  let adapters: Adapters;
  beforeAll(async () => {
    adapters = await make();
  });
  afterAll(() => {});

  it("stores streams and buffers and lists and deletes one message's blobs only", async () => {
    const { messages } = adapters;
    await messages.upload(
      "m1/attachments/0",
      Readable.from([Buffer.from("hello "), Buffer.from("world")]),
      "text/plain",
    );
    await messages.upload("m1/message.json", Buffer.from("{}"), "application/json");
    await messages.upload("m2/attachments/0", Buffer.from("other"), "text/plain");
    expect((await messages.list("m1")).sort()).toEqual(["m1/attachments/0", "m1/message.json"]);
    expect((await buffer(await messages.download("m1/attachments/0"))).toString()).toBe("hello world");
    await messages.deleteMessage("m1");
    expect(await messages.list("m1")).toEqual([]);
    expect(await messages.list("m2")).toEqual(["m2/attachments/0"]);
    await messages.deleteMessage("nothing-here");
  });

  it("lists the messages whose every blob is older than a time, for the sweep of leftovers", async () => {
    const { messages } = adapters;
    const ids = async (before: Date) => {
      const found: string[] = [];
      for await (const id of messages.listStale(before)) found.push(id);
      return found.filter((id) => id.startsWith("stale-")).sort();
    };
    await messages.upload("stale-old/attachments/0", Buffer.from("a"), "application/pdf");
    await messages.upload("stale-mixed/attachments/0", Buffer.from("b"), "application/pdf");
    // Blob storage keeps Last-Modified to the second: a cut between two whole seconds apart.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const cut = new Date();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await messages.upload("stale-mixed/message.json", Buffer.from("{}"), "application/json");
    await messages.upload("stale-young/attachments/0", Buffer.from("c"), "application/pdf");
    expect(await ids(cut)).toEqual(["stale-old"]);
    expect(await ids(new Date(Date.now() + 60_000))).toEqual(["stale-mixed", "stale-old", "stale-young"]);
    expect(await ids(new Date(0))).toEqual([]);
  });

  it("creates once, reads per client, and updates under concurrency without losing a change", async () => {
    const { statuses } = adapters;
    await statuses.create(record("r1"));
    await expect(statuses.create(record("r1"))).rejects.toBeInstanceOf(StatusConflictError);
    expect(await statuses.get("other-client", "r1")).toBeUndefined();
    expect((await statuses.get("c1", "r1"))?.status).toBe("queued");

    await Promise.all(
      Array.from({ length: 8 }, () =>
        statuses.update("c1", "r1", (r) => ({ ...r, attempts: r.attempts + 1 })),
      ),
    );
    expect((await statuses.get("c1", "r1"))?.attempts).toBe(8);
    expect(await statuses.update("c1", "missing", (r) => r)).toBeUndefined();
    const unchanged = await statuses.update("c1", "r1", () => undefined);
    expect(unchanged?.attempts).toBe(8);
  });

  it("finds stale records of one status for retention, optionally only those still holding content", async () => {
    const { statuses } = adapters;
    const failed = (id: string, hasBlobs: boolean) => ({
      ...record(id, "c2"),
      status: "failed" as const,
      hasBlobs,
    });
    await statuses.create(failed("f1", false));
    await statuses.create(failed("f2", true));
    await statuses.create(failed("f3", false));
    const later = new Date(Date.now() + 60_000);
    expect((await statuses.listStale("failed", later, 10)).map((r) => r.id).sort()).toEqual([
      "f1",
      "f2",
      "f3",
    ]);
    expect((await statuses.listStale("failed", later, 10, { withBlobs: true })).map((r) => r.id)).toEqual([
      "f2",
    ]);
    expect(await statuses.listStale("failed", later, 2)).toHaveLength(2);
    expect(await statuses.listStale("failed", new Date(0), 10)).toEqual([]);
    await statuses.delete("c2", "f1");
    expect(await statuses.get("c2", "f1")).toBeUndefined();
  });

  it("lists the ids of every client's records that still hold content", async () => {
    const { statuses } = adapters;
    await statuses.create({ ...record("content-1", "c5"), hasBlobs: true });
    await statuses.create({ ...record("content-2", "c6"), status: "failed", hasBlobs: true });
    await statuses.create({ ...record("content-3", "c5"), hasBlobs: false });
    const ids: string[] = [];
    for await (const id of statuses.listWithContent()) ids.push(id);
    expect(ids.filter((id) => id.startsWith("content-")).sort()).toEqual(["content-1", "content-2"]);
  });

  it("gives an idempotency key to one claim until it expires, releases only its own, and purges old ones", async () => {
    const { idempotency } = adapters;
    const now = new Date();
    const claim = (messageId: string, createdAt = now) => ({
      v: 1 as const,
      messageId,
      fingerprint: `fp-${messageId}`,
      createdAt: createdAt.toISOString(),
    });
    const winners = await Promise.all(
      ["m1", "m2", "m3"].map((id) => idempotency.claim("c3", "key-1", claim(id), now)),
    );
    expect(new Set(winners.map((w) => w.messageId)).size).toBe(1);
    const holder = winners[0]!.messageId;
    // Another client's key of the same name is its own.
    expect((await idempotency.claim("c4", "key-1", claim("m4"), now)).messageId).toBe("m4");
    await idempotency.release("c3", "key-1", "not-the-holder");
    expect((await idempotency.claim("c3", "key-1", claim("m5"), now)).messageId).toBe(holder);
    await idempotency.release("c3", "key-1", holder);
    expect((await idempotency.claim("c3", "key-1", claim("m6"), now)).messageId).toBe("m6");
    // A claim older than the 24 h window is taken over.
    const dayLater = new Date(now.getTime() + 25 * 3600_000);
    expect((await idempotency.claim("c3", "key-1", claim("m7", dayLater), dayLater)).messageId).toBe("m7");
    expect(await idempotency.purgeBefore(new Date(now.getTime() - 3600_000), 100)).toBe(0);
  });

  it("remembers when a password login last worked, per transport and mailbox, case-insensitively", async () => {
    const { logins } = adapters;
    expect(await logins.lastSuccessAt("smtp", "scanner@contoso.com")).toBeUndefined();
    await logins.recordSuccess("smtp", "Scanner@Contoso.com", 1_765_000_000_123);
    expect(await logins.lastSuccessAt("smtp", "scanner@contoso.com")).toBe(1_765_000_000_123);
    expect(await logins.lastSuccessAt("hve", "scanner@contoso.com")).toBeUndefined();
    await logins.recordSuccess("smtp", "scanner@contoso.com", 1_765_000_999_000);
    expect(await logins.lastSuccessAt("smtp", "SCANNER@contoso.com")).toBe(1_765_000_999_000);
  });

  /** Five records of client `t1` created a minute apart (m0 oldest), alternating two mailboxes. */
  async function timeline(clientId: string) {
    const { statuses } = adapters;
    const base = Date.parse("2026-03-01T10:00:00.000Z");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const at = new Date(base + i * 60_000).toISOString();
      const id = `${clientId}-m${i}`;
      ids.push(id);
      await statuses.create({
        ...record(id, clientId),
        mailbox: i % 2 === 0 ? "Scanner@contoso.com" : "billing@contoso.com",
        subject: `Invoice ${i}`,
        createdAt: at,
        updatedAt: at,
      });
    }
    return { ids, base };
  }

  it("scans a client's records newest first from the time index, with filters and resume points", async () => {
    const { statuses } = adapters;
    const { ids, base } = await timeline("t1");
    const scan = (query: Partial<Parameters<StatusStore["scanByTime"]>[1]> = {}) =>
      statuses.scanByTime("t1", { limit: 10, ...query });
    const idsOf = (page: Awaited<ReturnType<typeof scan>>) => page.entries.map((e) => e.record.id);

    const all = await scan();
    expect(idsOf(all)).toEqual([...ids].reverse());
    expect(all.resume).toBeUndefined();
    expect(all.entries.map((e) => e.key)).toEqual(all.entries.map((e) => e.key).sort());
    expect(idsOf(await statuses.scanByTime("other", { limit: 10 }))).toEqual([]);

    // Pages of two, each resuming where the last stopped.
    const seen: string[] = [];
    let resume: string | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await scan({ limit: 2, resume });
      seen.push(...idsOf(page));
      resume = page.resume;
      if (!resume) break;
    }
    expect(seen).toEqual([...ids].reverse());
    const two = await scan({ limit: 2 });
    expect(idsOf(await scan({ limit: 2, resume: resumeAfter(two.entries[0]!.key) }))).toEqual([
      ids[3],
      ids[2],
    ]);

    expect(idsOf(await scan({ mailbox: "scanner@CONTOSO.com" }))).toEqual([ids[4], ids[2], ids[0]]);
    const from = new Date(base + 60_000);
    const before = new Date(base + 3 * 60_000);
    expect(idsOf(await scan({ createdFrom: from, createdBefore: before }))).toEqual([ids[2], ids[1]]);
    const matched = await scan({ match: (r) => r.subject === "Invoice 1" });
    expect(idsOf(matched)).toEqual([ids[1]]);
    expect(matched.seen).toBe(all.entries.at(-1)?.key);
    await expect(scan({ resume: "k:not-a-key" })).rejects.toBeInstanceOf(InvalidResumeError);
    await expect(scan({ resume: "t:bm90IGpzb24" })).rejects.toBeInstanceOf(InvalidResumeError);
  });

  it("keeps the index with every change and delete, so a status filter finds the record as it is now", async () => {
    const { statuses } = adapters;
    const { ids } = await timeline("t2");
    await statuses.update("t2", ids[1]!, (r) => transition(r, "failed", new Date(), { reason: "550 5.7.1" }));
    const failed = await statuses.scanByTime("t2", { status: "failed", limit: 10 });
    expect(failed.entries.map((e) => [e.record.id, e.record.reason])).toEqual([[ids[1], "550 5.7.1"]]);
    expect((await statuses.scanByTime("t2", { status: "queued", limit: 10 })).entries).toHaveLength(4);
    // Concurrent changes: the index holds the last one, like the record.
    await Promise.all(
      Array.from({ length: 6 }, () =>
        statuses.update("t2", ids[0]!, (r) => ({ ...r, attempts: r.attempts + 1 })),
      ),
    );
    const scanned = (await statuses.scanByTime("t2", { limit: 10 })).entries.find(
      (e) => e.record.id === ids[0],
    );
    expect(scanned?.record).toEqual(await statuses.get("t2", ids[0]!));
    expect(scanned?.record.attempts).toBe(6);
    await statuses.delete("t2", ids[1]!);
    expect((await statuses.scanByTime("t2", { status: "failed", limit: 10 })).entries).toEqual([]);
    expect((await statuses.scanByTime("t2", { limit: 10 })).entries).toHaveLength(4);
  });

  it("sums counts per client and hour, concurrent increments included", async () => {
    const { activity } = adapters;
    const hour = Date.parse("2026-03-01T13:00:00.000Z");
    await Promise.all(
      Array.from({ length: 16 }, (_, i) => activity.add("a1", new Date(hour + i * 1000), { sent: 1 })),
    );
    await activity.add("a1", new Date(hour + 59 * 60_000), { failed: 1 });
    await activity.add("a1", new Date(hour + 60 * 60_000), { deferred: 1 });
    await activity.add("a2", new Date(hour), { sent: 1 });
    const hours = await activity.read(new Date(hour), new Date(hour + 2 * 3600_000));
    const byKey = Object.fromEntries(hours.map((h) => [`${h.hourStartMs - hour}/${h.clientId}`, h.counts]));
    expect(byKey).toEqual({
      "0/a1": { sent: 16, failed: 1, deferred: 0 },
      "0/a2": { sent: 1, failed: 0, deferred: 0 },
      "3600000/a1": { sent: 0, failed: 0, deferred: 1 },
    });
    expect(await activity.read(new Date(hour + 2 * 3600_000), new Date(hour + 3 * 3600_000))).toEqual([]);
  });

  it("counts the messages waiting in the queue, delayed ones included", async () => {
    const { queue } = adapters;
    const before = await queue.approximateCount();
    await queue.send("a");
    await queue.send("b", { delayMs: 3600_000 });
    expect(await queue.approximateCount()).toBe(before + 2);
  });
});

describe("the Azure status store after an upgrade", () => {
  it("indexes records an older release wrote without an index entry, once", async () => {
    const names = uniqueStorageNames();
    const storage = azureStorage({ kind: "connectionString", connectionString: storageConnection() }, names);
    await storage.ensure();
    // What the release before the index stored: the record alone, under its id (status record version 1).
    const table = TableClient.fromConnectionString(storageConnection(), names.table, {
      allowInsecureConnection: true,
    });
    const old = { ...record("legacy-1", "u1"), status: "failed" as const, hasBlobs: true };
    await table.createEntity({
      partitionKey: "u1",
      rowKey: old.id,
      status: old.status,
      hasBlobs: old.hasBlobs,
      record: JSON.stringify({ ...old, v: 1 }),
    });
    await storage.statuses.create(record("new-1", "u1"));
    expect((await storage.statuses.scanByTime("u1", { limit: 10 })).entries.map((e) => e.record.id)).toEqual([
      "new-1",
    ]);
    // Retention still finds it, and updating it writes its index entry.
    expect(
      (await storage.statuses.listStale("failed", new Date(Date.now() + 60_000), 10)).map((r) => r.id),
    ).toEqual(["legacy-1"]);

    expect(await storage.statuses.reindex("u1")).toMatchObject({ repaired: 1, done: true });
    const listed = await storage.statuses.scanByTime("u1", { status: "failed", limit: 10 });
    expect(listed.entries.map((e) => e.record)).toEqual([old]);
    expect(await storage.statuses.reindex("u1")).toMatchObject({ repaired: 0, done: true });
    // Deleting removes both, and a record without an index entry can be deleted too.
    await storage.statuses.delete("u1", "legacy-1");
    expect((await storage.statuses.scanByTime("u1", { limit: 10 })).entries.map((e) => e.record.id)).toEqual([
      "new-1",
    ]);
  });
});

describe("the Azure stores beside other instances", () => {
  /** Two instances' status stores over one table, each remembering what it last read or wrote. */
  async function twoInstances() {
    const names = uniqueStorageNames();
    const connection = { kind: "connectionString" as const, connectionString: storageConnection() };
    const first = azureStorage(connection, names);
    await first.ensure();
    return [first.statuses, azureStorage(connection, names).statuses] as const;
  }

  it("applies an update to the record as another instance left it, not as this one last wrote it", async () => {
    const [mine, other] = await twoInstances();
    await mine.create(record("shared-1"));
    await other.update("c1", "shared-1", (r) => ({ ...r, attempts: r.attempts + 1, reason: "other" }));
    const stored = await mine.update("c1", "shared-1", (r) => ({ ...r, attempts: r.attempts + 1 }));
    expect(stored).toMatchObject({ attempts: 2, reason: "other" });
    expect(await other.get("c1", "shared-1")).toMatchObject({ attempts: 2, reason: "other" });
  });

  it("answers 'nothing to change' only from the stored record, never from a remembered one", async () => {
    const [mine, other] = await twoInstances();
    await mine.create(record("shared-2"));
    await other.update("c1", "shared-2", (r) => transition(r, "cancelled", new Date()));
    // On the version `mine` remembers (queued) this changes nothing; on the stored one (cancelled) it does.
    const stored = await mine.update("c1", "shared-2", (r) =>
      r.status === "cancelled" ? { ...r, reason: "saw the cancel" } : undefined,
    );
    expect(stored).toMatchObject({ status: "cancelled", reason: "saw the cancel" });
  });

  it("keeps no change a caller makes to a record it was handed", async () => {
    const [mine] = await twoInstances();
    await mine.create(record("shared-3"));
    const read = await mine.get("c1", "shared-3");
    if (read) read.attempts = 99;
    expect(await mine.update("c1", "shared-3", (r) => ({ ...r, reason: "next" }))).toMatchObject({
      attempts: 0,
      reason: "next",
    });
  });
});
