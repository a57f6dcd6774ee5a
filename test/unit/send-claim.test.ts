import { describe, expect, it } from "vitest";
import { claimed, heldUntil, owns, takenOver } from "../../shared/app/sendClaim.js";
import type { StatusRecord } from "../../shared/domain/statusRecord.js";

const now = new Date("2026-12-01T12:00:00Z");
const leaseMs = 10_000;
const record = (changes: Partial<StatusRecord> = {}): StatusRecord => ({
  v: 2,
  id: "m",
  clientId: "c",
  status: "queued",
  transport: "smtp",
  mailbox: "a@contoso.com",
  recipients: 1,
  createdAt: now.toISOString(),
  updatedAt: now.toISOString(),
  attempts: 0,
  hasBlobs: false,
  timeline: [],
  ...changes,
});
const claim = (owner: string, inMs: number) => ({
  owner,
  expiresAt: new Date(now.getTime() + inMs).toISOString(),
});

describe("the claim on a message being sent", () => {
  it("is taken by the first dispatcher and kept from the others until it expires", () => {
    const mine = claimed(record(), "q1", now, leaseMs);
    expect(mine).toMatchObject({ status: "sending", attempts: 1, claim: { owner: "q1" } });
    expect(mine?.possibleDuplicate).toBeUndefined();
    expect(owns(mine!, "q1")).toBe(true);
    expect(claimed(mine!, "q2", now, leaseMs)).toBeUndefined();
    expect(heldUntil(mine!, "q2", now.getTime(), leaseMs)).toBe(now.getTime() + leaseMs);
    // The same queue message again (its earlier invocation died) may go on at once.
    expect(heldUntil(mine!, "q1", now.getTime(), leaseMs)).toBeUndefined();
  });

  it("flags a takeover without a checkpoint as a possible duplicate, not one with a draft to ask about", () => {
    const expired = record({ status: "sending", claim: claim("dead", -1) });
    expect(claimed(expired, "q2", now, leaseMs)).toMatchObject({ possibleDuplicate: true, attempts: 1 });
    expect(takenOver(expired)).toEqual({ possibleDuplicate: true });
    const withDraft = {
      ...expired,
      checkpoint: { kind: "graphDraft" as const, mailbox: "a@contoso.com", id: "d", complete: true },
    };
    expect(claimed(withDraft, "q2", now, leaseMs)?.possibleDuplicate).toBeUndefined();
    expect(takenOver(record({ status: "deferred" }))).toEqual({});
  });

  it("counts a claimless sending record of the previous release as claimed for one lease after its last change", () => {
    const old = record({ status: "sending", updatedAt: new Date(now.getTime() - 4000).toISOString() });
    expect(heldUntil(old, "q1", now.getTime(), leaseMs)).toBe(now.getTime() + 6000);
    expect(heldUntil(old, "q1", now.getTime() + 6001, leaseMs)).toBeUndefined();
  });
});
