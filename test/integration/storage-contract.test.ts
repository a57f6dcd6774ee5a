import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StatusRecord } from "../../shared/domain/statusRecord.js";
import { azureStorage } from "../../shared/storage/azure/account.js";
import { MemoryIdempotencyStore } from "../../shared/storage/memory/idempotencyStore.js";
import { MemoryLoginHistoryStore } from "../../shared/storage/memory/loginHistoryStore.js";
import { MemoryMessageStore } from "../../shared/storage/memory/messageStore.js";
import { MemoryStatusStore } from "../../shared/storage/memory/statusStore.js";
import {
  type IdempotencyStore,
  type LoginHistoryStore,
  type MessageStore,
  StatusConflictError,
  type StatusStore,
} from "../../shared/storage/ports.js";
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
  idempotency: IdempotencyStore;
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
});
