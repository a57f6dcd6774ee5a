import { describe, expect, it } from "vitest";
import { TenantPacer } from "../../shared/app/tenantPacer.js";
import { MemoryTenantPacingStore } from "../../shared/storage/memory/tenantPacingStore.js";

const policy = { probeIntervalMs: 60_000, leaseMs: 30_000 };
const clock = { now: () => new Date("2026-12-01T10:00:00Z") };

describe("the tenant's external recipient gate", () => {
  it("reads an unpaused tenant once for messages that set out together", async () => {
    const store = new MemoryTenantPacingStore();
    const pacer = new TenantPacer(store, policy, clock);
    const decisions = await Promise.all(Array.from({ length: 10 }, () => pacer.admit()));
    expect(decisions.map((d) => d.kind)).toEqual(Array(10).fill("go"));
    expect(store.counters.reads).toBe(1);
  });

  it("decides each message alone while the tenant is paused: one probes, the others wait", async () => {
    const store = new MemoryTenantPacingStore();
    const pacer = new TenantPacer(store, policy, clock);
    await pacer.refused({ reason: "550 5.7.233", mailbox: "a@contoso.com" });
    // Two minutes on, past the probe interval: one message may test whether external mail goes again.
    const later = new TenantPacer(store, policy, { now: () => new Date(clock.now().getTime() + 120_000) });
    const decisions = await Promise.all(Array.from({ length: 5 }, () => later.admit()));
    expect(decisions.filter((d) => d.kind === "probe")).toHaveLength(1);
    expect(decisions.filter((d) => d.kind === "wait")).toHaveLength(4);
  });
});
