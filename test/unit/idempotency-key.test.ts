import { describe, expect, it } from "vitest";
import { addressKey } from "../../shared/api/authFailures.js";
import { claimIdempotencyKey } from "../../shared/app/idempotencyKey.js";
import type { StatusRecord } from "../../shared/domain/statusRecord.js";
import { clientAddress } from "../../shared/host/azure/clientAddress.js";
import { MemoryIdempotencyStore } from "../../shared/storage/memory/idempotencyStore.js";
import { MemoryStatusStore } from "../../shared/storage/memory/statusStore.js";

const timing = { waitForFirstMs: 400, pollMs: 20, abandonedClaimMs: 60_000 };
const claimOf = (messageId: string, createdAt = new Date()) => ({
  v: 1 as const,
  messageId,
  fingerprint: "same",
  createdAt: createdAt.toISOString(),
});
const recordOf = (id: string): StatusRecord => ({
  v: 2,
  id,
  clientId: "c",
  status: "queued",
  transport: "smtp",
  mailbox: "a@contoso.com",
  recipients: 1,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  attempts: 0,
  hasBlobs: false,
  timeline: [],
});

function services() {
  return {
    idempotency: new MemoryIdempotencyStore(),
    statuses: new MemoryStatusStore(),
    clock: { now: () => new Date() },
  };
}

describe("a repeated Idempotency-Key", () => {
  it("answers the first message's id only once its status record exists", async () => {
    const s = services();
    await s.idempotency.claim("c", "k", claimOf("first"), new Date());
    setTimeout(() => void s.statuses.create(recordOf("first")), 100);
    expect(await claimIdempotencyKey("c", "k", claimOf("second"), s, timing)).toEqual({
      kind: "replay",
      id: "first",
      status: "queued",
    });
  });

  it("takes the key when the first request gave it up, or died holding it", async () => {
    const s = services();
    await s.idempotency.claim("c", "k", claimOf("first"), new Date());
    setTimeout(() => void s.idempotency.release("c", "k", "first"), 100);
    expect(await claimIdempotencyKey("c", "k", claimOf("second"), s, timing)).toEqual({ kind: "claimed" });

    const dead = services();
    await dead.idempotency.claim("c", "k", claimOf("first", new Date(Date.now() - 120_000)), new Date());
    expect(await claimIdempotencyKey("c", "k", claimOf("second"), dead, timing)).toEqual({ kind: "claimed" });
  });

  it("answers 503 with Retry-After while the first is still busy after the wait", async () => {
    const s = services();
    await s.idempotency.claim("c", "k", claimOf("first"), new Date());
    await expect(claimIdempotencyKey("c", "k", claimOf("second"), s, timing)).rejects.toMatchObject({
      status: 503,
      headers: { "Retry-After": "5" },
    });
  });
});

describe("the caller's address", () => {
  it("comes from the front end's client-ip in Azure, whatever X-Forwarded-For says", () => {
    const headers = new Headers({
      "client-ip": "203.0.113.7:50312",
      "x-forwarded-for": "198.51.100.1, 203.0.113.7",
    });
    expect(addressKey(clientAddress(headers))).toBe("203.0.113.7");
    expect(clientAddress(new Headers())).toBe("unknown");
  });

  it.each([
    ["203.0.113.7:443", "203.0.113.7"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["2001:DB8::1", "2001:db8::1"],
    ["", "unknown"],
  ])("%s counts as %s", (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
