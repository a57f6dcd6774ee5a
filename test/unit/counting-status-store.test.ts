import { describe, expect, it } from "vitest";
import { type StatusRecord, transition } from "../../shared/domain/statusRecord.js";
import { CoalescingCounters } from "../../shared/storage/coalescingCounters.js";
import { CountingStatusStore } from "../../shared/storage/countingStatusStore.js";
import { MemoryActivityCounters } from "../../shared/storage/memory/activityCounters.js";
import { MemoryStatusStore } from "../../shared/storage/memory/statusStore.js";
import type { ActivityCounters } from "../../shared/storage/ports.js";

const at = "2026-03-01T10:15:00.000Z";
const record: StatusRecord = {
  v: 2,
  id: "m1",
  clientId: "c1",
  status: "queued",
  transport: "smtp",
  mailbox: "a@contoso.com",
  recipients: 1,
  createdAt: at,
  updatedAt: at,
  attempts: 0,
  hasBlobs: false,
  timeline: [],
};

describe("counting status changes for the overview", () => {
  it("counts each move into sent, failed or deferred once, in the hour it happened", async () => {
    const counters = new MemoryActivityCounters();
    const store = new CountingStatusStore(new MemoryStatusStore(), counters, (e) => {
      throw e;
    });
    await store.create(record);
    const move = (status: StatusRecord["status"], iso: string) =>
      store.update("c1", "m1", (r) => transition(r, status, new Date(iso)));
    await move("deferred", "2026-03-01T10:20:00.000Z");
    await move("deferred", "2026-03-01T10:21:00.000Z"); // still deferred: not a new deferral
    await move("sending", "2026-03-01T10:30:00.000Z");
    await move("failed", "2026-03-01T11:05:00.000Z");
    await store.update("c1", "m1", () => undefined); // no change
    const hours = await counters.read(new Date("2026-03-01T00:00:00Z"), new Date("2026-03-02T00:00:00Z"));
    expect(hours.map((h) => [new Date(h.hourStartMs).toISOString(), h.counts])).toEqual([
      ["2026-03-01T10:00:00.000Z", { sent: 0, failed: 0, deferred: 1 }],
      ["2026-03-01T11:00:00.000Z", { sent: 0, failed: 1, deferred: 0 }],
    ]);
  });

  it("keeps the status change when the count cannot be written, and reports it", async () => {
    const errors: unknown[] = [];
    const failing: ActivityCounters = {
      add: async () => {
        throw new Error("contended");
      },
      read: async () => [],
    };
    const store = new CountingStatusStore(new MemoryStatusStore(), failing, (e) => errors.push(e));
    await store.create(record);
    const sent = await store.update("c1", "m1", (r) => transition(r, "sent", new Date()));
    expect(sent?.status).toBe("sent");
    expect((await store.get("c1", "m1"))?.status).toBe("sent");
    expect(errors).toHaveLength(1);
  });
});

describe("coalescing counter writes", () => {
  it("writes one batch at a time per client and hour, losing no count", async () => {
    const memory = new MemoryActivityCounters();
    const writes: number[] = [];
    let slow: () => void = () => {};
    const inner: ActivityCounters = {
      add: async (clientId, at, counts) => {
        writes.push((counts.sent ?? 0) + (counts.failed ?? 0));
        // The first write is slow: everything added meanwhile must wait for, and go in, the second.
        if (writes.length === 1) await new Promise<void>((resolve) => (slow = resolve));
        await memory.add(clientId, at, counts);
      },
      read: (from, to) => memory.read(from, to),
    };
    const counters = new CoalescingCounters(inner);
    const hour = new Date("2026-03-01T10:00:00.000Z");
    const first = counters.add("c1", hour, { sent: 1 });
    const more = Array.from({ length: 49 }, (_, i) =>
      counters.add("c1", new Date(hour.getTime() + i * 1000), i % 2 ? { sent: 1 } : { failed: 1 }),
    );
    const other = counters.add("c2", hour, { sent: 1 });
    slow();
    await Promise.all([first, ...more, other]);
    expect(writes).toEqual([1, 1, 49]);
    const hours = await counters.read(hour, new Date(hour.getTime() + 3600_000));
    expect(Object.fromEntries(hours.map((h) => [h.clientId, h.counts]))).toEqual({
      c1: { sent: 25, failed: 25, deferred: 0 },
      c2: { sent: 1, failed: 0, deferred: 0 },
    });
  });

  it("rejects the adds of a batch whose write failed, and writes the next batch all the same", async () => {
    let fail = true;
    const inner: ActivityCounters = {
      add: async () => {
        if (fail) throw new Error("contended");
      },
      read: async () => [],
    };
    const counters = new CoalescingCounters(inner);
    await expect(counters.add("c1", new Date(), { sent: 1 })).rejects.toThrow("contended");
    fail = false;
    await expect(counters.add("c1", new Date(), { sent: 1 })).resolves.toBeUndefined();
  });
});
