import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decideExternal,
  externalRefused,
  probeFinished,
  type TenantPacingState,
  type TenantPolicy,
  tenantPacingStateSchema,
  tenantView,
} from "../../shared/pacing/tenant.js";

const second = 1000;
const minute = 60 * second;
const policy: TenantPolicy = { probeIntervalMs: 30 * minute, leaseMs: 5 * minute };

/**
 * Messages with external recipients against a tenant that Exchange refuses (550 5.7.233) until `clearsAt`:
 * each message asks the gate, sends when it may (the send takes `sendMs`), and comes back when told to wait.
 * The store is the pure functions applied in event order, as the optimistic loop serializes them.
 */
function simulate(input: {
  arrivals: number[];
  jitters: number[];
  clearsAt: number;
  sendMs: number;
  /** Messages whose dispatcher dies after becoming the probe (never reports back). */
  crashes: Set<number>;
}) {
  let state: TenantPacingState | undefined;
  type Event = { at: number; message: number; result?: { leaseId?: string } };
  const events: Event[] = input.arrivals.map((at, message) => ({ at, message }));
  const done = new Set<number>();
  const probesOut = new Set<number>();
  const log = { goWhilePaused: 0, overlappingProbes: 0, earlyWakes: 0, sendsRefused: 0, pauseLiftedAt: -1 };
  let steps = 0;
  let jitterIndex = 0;
  const jitter = () => input.jitters[jitterIndex++ % input.jitters.length] ?? 0;
  while (events.length > 0 && steps < 20_000) {
    events.sort((a, b) => a.at - b.at || a.message - b.message);
    const { at: now, message, result } = events.shift()!;
    steps++;
    if (result) {
      // The provider's answer arrives when the send ends.
      probesOut.delete(message);
      if (now < input.clearsAt) {
        log.sendsRefused++;
        const refused = externalRefused(
          state,
          now,
          { ...result, reason: "550 5.7.233", mailbox: "a@contoso.com", jitter: jitter() },
          policy,
        );
        state = tenantPacingStateSchema.parse(refused.state);
        events.push({ at: refused.plannedAt, message });
      } else {
        if (result.leaseId) {
          state = probeFinished(state, result.leaseId, true).state;
          if (log.pauseLiftedAt < 0) log.pauseLiftedAt = now;
        }
        done.add(message);
      }
      continue;
    }
    const paused = state?.external !== undefined;
    const untilBefore = state?.external?.until ?? 0;
    const leaseId = `l${message}-${steps}`;
    const { decision, state: next } = decideExternal(state, now, { leaseId, jitter: jitter() }, policy);
    state = tenantPacingStateSchema.parse(next);
    if (decision.kind === "wait") {
      if (decision.until < now || (now < untilBefore && decision.until < untilBefore)) log.earlyWakes++;
      events.push({ at: decision.until, message });
      continue;
    }
    if (decision.kind === "go" && paused) log.goWhilePaused++;
    if (decision.kind === "probe") {
      if (probesOut.size > 0) log.overlappingProbes++;
      if (input.crashes.has(message)) {
        input.crashes.delete(message);
        events.push({ at: now + 10 * minute, message }); // the queue shows it again after its lease
        continue;
      }
      probesOut.add(message);
    }
    events.push({
      at: now + input.sendMs,
      message,
      result: decision.kind === "probe" ? { leaseId } : {},
    });
  }
  return { log, done, state };
}

describe("the tenant external recipient limit (pure decisions, simulated)", () => {
  it("holds every external message while paused, probes one at a time, and lifts soon after the tenant clears", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 4 * 3600 * second }), { minLength: 1, maxLength: 120 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 50,
        }),
        fc.integer({ min: 0, max: 6 * 3600 * second }),
        fc.integer({ min: 50, max: 20 * second }),
        fc.array(fc.integer({ min: 0, max: 119 }), { maxLength: 3 }),
        (arrivals, jitters, clearsAt, sendMs, crashes) => {
          const { log, done, state } = simulate({
            arrivals,
            jitters,
            clearsAt,
            sendMs,
            crashes: new Set(crashes),
          });
          expect(log.goWhilePaused).toBe(0);
          expect(log.overlappingProbes).toBe(0);
          expect(log.earlyWakes).toBe(0);
          expect(done.size).toBe(arrivals.length);
          expect(state?.external).toBeUndefined();
          // Once Exchange takes external mail again, the pause ends within one probe interval, its spread,
          // a crashed probe's lease and the queue's redelivery.
          if (log.sendsRefused > 0 && log.pauseLiftedAt >= 0) {
            expect(log.pauseLiftedAt).toBeLessThanOrEqual(
              Math.max(clearsAt, Math.min(...arrivals)) +
                1.25 * policy.probeIntervalMs +
                15 * minute +
                2 * sendMs,
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("spreads the waiting messages over a quarter of the probe interval after the pause, not at one moment", () => {
    const paused = externalRefused(
      undefined,
      0,
      { reason: "550 5.7.233", mailbox: "a@contoso.com", jitter: 0 },
      policy,
    ).state;
    const wakes = Array.from({ length: 1000 }, (_, i) => {
      const { decision } = decideExternal(
        paused,
        60 * second,
        { leaseId: `l${i}`, jitter: i / 1000 },
        policy,
      );
      return decision.kind === "wait" ? decision.until : Number.NaN;
    });
    const perSecond = new Map<number, number>();
    for (const at of wakes)
      perSecond.set(Math.floor(at / second), (perSecond.get(Math.floor(at / second)) ?? 0) + 1);
    expect(Math.min(...wakes)).toBe(policy.probeIntervalMs);
    expect(Math.max(...wakes)).toBeLessThan(1.25 * policy.probeIntervalMs);
    const spreadSeconds = (0.25 * policy.probeIntervalMs) / second;
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(Math.ceil(1000 / spreadSeconds) + 1);
  });

  it("keeps the first refusal's time and reason, shows them, and reads what it wrote", () => {
    const first = externalRefused(
      undefined,
      1000,
      { reason: "550 5.7.233 first", mailbox: "A@contoso.com", jitter: 0 },
      policy,
    );
    const again = externalRefused(
      first.state,
      5000,
      { reason: "550 5.7.233 later", mailbox: "b@contoso.com", jitter: 0 },
      policy,
    );
    expect(tenantView(again.state)).toEqual({
      externalPausedSince: 1000,
      nextProbeAt: 1000 + policy.probeIntervalMs,
      reason: "550 5.7.233 first",
      mailbox: "a@contoso.com",
    });
    expect(tenantPacingStateSchema.parse(JSON.parse(JSON.stringify(again.state)))).toEqual(again.state);
    expect(tenantView(undefined)).toBeUndefined();
  });

  it("lets the next message probe when a probe ends without an answer, and ignores another message's lease", () => {
    const paused = externalRefused(
      undefined,
      0,
      { reason: "r", mailbox: "a@contoso.com", jitter: 0 },
      policy,
    ).state;
    const at = policy.probeIntervalMs;
    const probe = decideExternal(paused, at, { leaseId: "p1", jitter: 0 }, policy);
    expect(probe.decision).toEqual({ kind: "probe", leaseId: "p1" });
    expect(decideExternal(probe.state, at + 1, { leaseId: "p2", jitter: 0 }, policy).decision.kind).toBe(
      "wait",
    );
    expect(probeFinished(probe.state, "p2", true).changed).toBe(false);
    const abandoned = probeFinished(probe.state, "p1", false).state;
    expect(decideExternal(abandoned, at + 2, { leaseId: "p3", jitter: 0 }, policy).decision).toEqual({
      kind: "probe",
      leaseId: "p3",
    });
    // A probe whose dispatcher died: its lease runs out, then another message probes.
    expect(
      decideExternal(probe.state, at + policy.leaseMs, { leaseId: "p4", jitter: 0 }, policy).decision.kind,
    ).toBe("probe");
  });
});
