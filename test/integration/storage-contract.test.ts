import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { azureStorage } from "../../shared/storage/azure/account.js";
import { MemoryMessageStore, MemoryStatusStore } from "../../shared/storage/memory/stores.js";
import { type MessageStore, StatusConflictError, type StatusStore } from "../../shared/storage/ports.js";
import type { StatusRecord } from "../../shared/domain/statusRecord.js";
import { storageConnection, uniqueStorageNames } from "../support/env.js";

function record(id: string, clientId = "c1"): StatusRecord {
  const at = "2026-01-01T00:00:00.000Z";
  return {
    v: 1,
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
}

/** One contract, two adapters: the Azure ones against Azurite and the in-memory fakes. */
const suites: [string, () => Promise<Adapters>][] = [
  ["memory", async () => ({ messages: new MemoryMessageStore(), statuses: new MemoryStatusStore() })],
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
});
