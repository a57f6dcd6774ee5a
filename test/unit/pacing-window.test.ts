import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defaultPacingSettings, type PacingPolicy, pacingPolicy } from "../../shared/pacing/limits.js";
import {
  emptyPacingState,
  maxDayEntries,
  type PacingState,
  pacingStateSchema,
} from "../../shared/pacing/state.js";
import { decide, type PacingDecision, quotaView, release } from "../../shared/pacing/window.js";
import { describeWait } from "../../shared/pacing/wording.js";

const second = 1000;
const hour = 3600 * second;
const t0 = Date.parse("2025-03-01T08:00:00Z");

/** Exchange Online's defaults without margins, so expected times are exact. */
function policy(
  overrides: Partial<PacingPolicy> = {},
  limits: Partial<PacingPolicy["limits"]> = {},
): PacingPolicy {
  const base = pacingPolicy({ ...defaultPacingSettings, clockSkewMs: 0 }, "a@contoso.com", "smtp");
  return { ...base, ...overrides, limits: { ...base.limits, ...limits } };
}

/** Reserves and releases `count` sends at `at` (or as soon as a hold allows), each taking `latencyMs`. */
function sendMany(
  state: PacingState,
  at: number,
  count: number,
  p: PacingPolicy,
  latencyMs = 0,
  recipients = 1,
) {
  let s = state;
  for (let i = 0; i < count; i++) {
    const r = decide(s, at, { recipients, leaseId: `l${at}-${i}` }, p);
    if (r.decision.kind !== "reserved")
      throw new Error(`expected a reservation, got ${JSON.stringify(r.decision)}`);
    // The clock reads whole milliseconds and the recorded end rounds up by one: end = start + latencyMs.
    s = release(r.state, r.decision.startAt + latencyMs - 1, { leaseId: `l${at}-${i}`, recipients }, p).state;
  }
  return s;
}

describe("pacing decision (pure)", () => {
  it("reserves at once for an idle mailbox and records a lease", () => {
    const p = policy();
    const { decision, state, changed } = decide(undefined, t0, { recipients: 3, leaseId: "x" }, p);
    expect(decision).toEqual({ kind: "reserved", startAt: t0, leaseId: "x" });
    expect(changed).toBe(true);
    expect(state.sends).toEqual([{ s: t0, e: t0 + p.leaseMs, r: 3, l: "x" }]);
    expect(pacingStateSchema.parse(state)).toEqual(state);
  });

  it("allows 30 in a rolling minute, then names the exact moment the 30th-latest send leaves the window", () => {
    const p = policy({}, { concurrency: 100 });
    const state = sendMany(emptyPacingState(), t0, 30, p, 400);
    const { decision } = decide(state, t0 + 10 * second, { recipients: 1, leaseId: "n" }, p);
    // Every send ended at t0 + 400 ms: the window (60 s) frees at t0 + 60.4 s.
    expect(decision).toEqual({ kind: "wait", until: t0 + 60_400, reason: "messages" });
  });

  it("lengthens every window by the clock-skew margin", () => {
    const p = policy({ clockSkewMs: 2 * second }, { concurrency: 100 });
    const state = sendMany(emptyPacingState(), t0, 30, p);
    const { decision } = decide(state, t0 + second, { recipients: 1, leaseId: "n" }, p);
    expect(decision).toMatchObject({ kind: "wait", until: t0 + 62 * second });
  });

  it("reserves a slot opening within maxHoldMs now, with its start in the future", () => {
    const p = policy({}, { concurrency: 100 });
    const state = sendMany(emptyPacingState(), t0, 30, p);
    const { decision } = decide(state, t0 + 57 * second, { recipients: 1, leaseId: "h" }, p);
    expect(decision).toEqual({ kind: "reserved", startAt: t0 + 60 * second, leaseId: "h" });
  });

  it("evenly spaced (PACING_SMOOTH): books waiting messages one spacing apart, each for its own slot", () => {
    const p = policy({ smooth: true }, { concurrency: 100 });
    let state = sendMany(emptyPacingState(), t0, 30, p);
    const untils: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = decide(state, t0 + second, { recipients: 1, leaseId: `w${i}` }, p);
      if (r.decision.kind !== "wait") throw new Error("expected a wait");
      untils.push(r.decision.until);
      state = r.state;
    }
    expect(untils).toEqual([0, 1, 2, 3, 4].map((i) => t0 + 60 * second + i * 2 * second));
    expect(state.bookedRecipients).toBe(5);
    // A newcomer joins the end of the line, even though the window is the same for it.
    const late = decide(state, t0 + 2 * second, { recipients: 1, leaseId: "late" }, p);
    expect(late.decision).toMatchObject({ kind: "wait", until: t0 + 70 * second, reason: "backlog" });
  });

  it("evenly spaced: lets a booked message take its slot and keeps newcomers from overtaking it", () => {
    const p = policy({ smooth: true }, { concurrency: 100 });
    let state = sendMany(emptyPacingState(), t0, 30, p);
    const first = decide(state, t0 + second, { recipients: 1, leaseId: "b1" }, p);
    state = first.state;
    const bookedAt = t0 + 60 * second;
    expect(first.decision).toMatchObject({ kind: "wait", until: bookedAt });
    // A new message arriving at the slot itself gets the next slot, after the booking.
    const newcomer = decide(state, bookedAt, { recipients: 1, leaseId: "new" }, p);
    expect(newcomer.decision).toEqual({ kind: "reserved", startAt: bookedAt + 2 * second, leaseId: "new" });
    const booked = decide(state, bookedAt, { recipients: 1, leaseId: "b1", bookedAt }, p);
    expect(booked.decision).toEqual({ kind: "reserved", startAt: bookedAt, leaseId: "b1" });
    expect(booked.state.bookedRecipients).toBe(0);
  });

  it("answers 'early' without touching the state for a message woken long before its slot", () => {
    const p = policy();
    const bookedAt = t0 + 9 * 24 * hour;
    const r = decide(emptyPacingState(), t0, { recipients: 1, leaseId: "e", bookedAt }, p);
    expect(r).toMatchObject({ decision: { kind: "wait", until: bookedAt, reason: "early" }, changed: false });
  });

  it("holds a message with more recipients than the day has left until exactly enough age out", () => {
    const p = policy({}, { concurrency: 100, recipientsPerWindow: 1000 });
    // 400 recipients at t0, 500 at t0 + 1 h: 100 left. A 250-recipient message needs the first 400 gone.
    let state = sendMany(emptyPacingState(), t0, 1, p, 0, 400);
    state = sendMany(state, t0 + hour, 1, p, 0, 500);
    const { decision } = decide(state, t0 + 2 * hour, { recipients: 250, leaseId: "big" }, p);
    expect(decision).toEqual({ kind: "wait", until: t0 + 24 * hour, reason: "recipients" });
    // 100 still fit now.
    expect(decide(state, t0 + 2 * hour, { recipients: 100, leaseId: "ok" }, p).decision.kind).toBe(
      "reserved",
    );
    expect(quotaView(state, t0 + 2 * hour, p).usage.recipientsInDay).toBe(900);
  });

  it("refuses a message that can never fit the recipient limit", () => {
    const p = policy({}, { recipientsPerWindow: 100 });
    const r = decide(undefined, t0, { recipients: 101, leaseId: "x" }, p);
    expect(r.decision.kind).toBe("impossible");
    expect(r.changed).toBe(false);
  });

  it("keeps at most `concurrency` sends in flight (SMTP AUTH: 3)", () => {
    const p = policy();
    let state = emptyPacingState();
    for (const id of ["a", "b", "c"]) {
      const r = decide(state, t0, { recipients: 1, leaseId: id }, p);
      expect(r.decision.kind).toBe("reserved");
      state = r.state;
    }
    const fourth = decide(state, t0, { recipients: 1, leaseId: "d" }, p);
    expect(fourth.decision).toMatchObject({ kind: "wait", reason: "concurrency" });
    state = release(state, t0 + 300, { leaseId: "a", recipients: 1 }, p).state;
    expect(decide(state, t0 + 300, { recipients: 1, leaseId: "d" }, p).decision.kind).toBe("reserved");
  });

  it("keeps counting a reservation whose dispatcher crashed: in flight until the lease ends, in the window after", () => {
    const p = policy({ leaseMs: 120 * second }, { messagesPerWindow: 2, concurrency: 1 });
    const crashed = decide(undefined, t0, { recipients: 1, leaseId: "crash" }, p).state;
    // In flight (concurrency 1) until the lease ends.
    expect(decide(crashed, t0 + 60 * second, { recipients: 1, leaseId: "n" }, p).decision).toMatchObject({
      kind: "wait",
      reason: "concurrency",
    });
    // After the lease, it still counts in the message window until lease end + window (t0 + 180 s).
    const afterLease = sendMany(crashed, t0 + 121 * second, 1, p);
    expect(decide(afterLease, t0 + 122 * second, { recipients: 1, leaseId: "m" }, p).decision).toMatchObject({
      kind: "wait",
      until: t0 + 120 * second + 60 * second,
    });
  });

  it("pauses the mailbox on throttling, books the throttled message first and moves the line back", () => {
    const p = policy({ smooth: true }, { concurrency: 100 });
    let state = sendMany(emptyPacingState(), t0, 30, p);
    const booked = decide(state, t0 + second, { recipients: 1, leaseId: "b" }, p);
    state = booked.state;
    const bookedAt = t0 + 60 * second;
    const throttled = decide(state, t0 + 2 * second, { recipients: 1, leaseId: "t" }, p);
    expect(throttled.decision.kind).toBe("wait");
    // Pretend a reservation went out and came back 429 with Retry-After 300 s.
    const reserved = decide(emptyPacingState(), t0, { recipients: 1, leaseId: "r" }, p).state;
    const fed = release(
      { ...reserved, cursorAt: state.cursorAt, bookedRecipients: state.bookedRecipients },
      t0 + 3 * second,
      {
        leaseId: "r",
        recipients: 1,
        throttle: { retryAfterMs: 300 * second, quota: false, reason: "429: slow down" },
      },
      p,
    );
    const until = t0 + 303 * second;
    expect(fed.plannedAt).toBe(until);
    expect(fed.state.pause).toEqual({ from: t0 + 3 * second, until, reason: "429: slow down" });
    // The booked message moves back by the pause's length; newcomers go after the line.
    const woken = decide(fed.state, bookedAt, { recipients: 1, leaseId: "b", bookedAt }, p);
    expect(woken.decision).toEqual({
      kind: "wait",
      until: bookedAt + 300 * second,
      reason: "paused",
      pauseReason: "429: slow down",
    });
    const newcomer = decide(fed.state, t0 + 4 * second, { recipients: 1, leaseId: "n" }, p);
    expect(newcomer.decision).toMatchObject({ kind: "wait", reason: "paused" });
    if (newcomer.decision.kind === "wait")
      expect(newcomer.decision.until).toBeGreaterThan(bookedAt + 300 * second);
    expect(quotaView(fed.state, t0 + 4 * second, p)).toMatchObject({
      pausedUntil: until,
      pauseReason: "429: slow down",
    });
  });

  it("pauses a mailbox over its daily quota (554 5.2.0) until its oldest recipients age out", () => {
    const p = policy({}, { concurrency: 100 });
    let state = sendMany(emptyPacingState(), t0, 1, p, 0, 40);
    state = sendMany(state, t0 + hour, 1, p, 0, 40);
    const r = decide(state, t0 + 2 * hour, { recipients: 10, leaseId: "q" }, p);
    const fed = release(
      r.state,
      t0 + 2 * hour,
      {
        leaseId: "q",
        recipients: 10,
        throttle: { retryAfterMs: hour, quota: true, reason: "554 5.2.0 SubmissionQuotaExceededException" },
      },
      p,
    );
    expect(fed.plannedAt).toBe(t0 + 24 * hour);
  });

  it("keeps the state bounded and its recipient count conservative over a busy day", () => {
    const p = policy({}, { concurrency: 100, recipientsPerWindow: 1_000_000 });
    let state = emptyPacingState();
    let trueRecipients = 0;
    const sends: [number, number][] = [];
    // 30 messages a minute for 24 h: 43,200 sends.
    for (let minute = 0; minute < 24 * 60; minute++) {
      const at = t0 + minute * 60_000 + 1000;
      const r = 1 + (minute % 7);
      state = sendMany(state, at, 30, p, 0, r);
      for (let i = 0; i < 30; i++) sends.push([at, r]);
      expect(state.sends.length).toBeLessThanOrEqual(2 * 30 + p.limits.concurrency);
      expect(state.day.length).toBeLessThanOrEqual(maxDayEntries);
    }
    const now = t0 + 24 * hour + 30_000;
    trueRecipients = sends.filter(([e]) => e > now - 24 * hour).reduce((a, [, r]) => a + r, 0);
    expect(quotaView(state, now, p).usage.recipientsInDay).toBeGreaterThanOrEqual(trueRecipients);
    expect(Buffer.byteLength(JSON.stringify(state))).toBeLessThan(64 * 1024);
  });

  it("applies per-mailbox overrides and the safety margin; concurrency follows the transport", () => {
    const settings = {
      ...defaultPacingSettings,
      safetyMarginPercent: 10,
      mailboxes: { "big@contoso.com": { messagesPerWindow: 60, recipientsPerWindow: 20_000 } },
    };
    expect(pacingPolicy(settings, "Big@Contoso.com", "graph").limits).toMatchObject({
      messagesPerWindow: 54,
      recipientsPerWindow: 18_000,
      concurrency: 4,
    });
    expect(pacingPolicy(settings, "other@contoso.com", "smtp").limits).toMatchObject({
      messagesPerWindow: 27,
      recipientsPerWindow: 9_000,
      concurrency: 3,
    });
  });

  it("says why a message waits and until when", () => {
    const p = policy();
    expect(describeWait({ kind: "wait", until: t0, reason: "messages" }, p, 1)).toBe(
      "the mailbox is at its limit of 30 messages per 60 s; next slot at 2025-03-01T08:00:00.000Z",
    );
  });
});

/** Asks for `count` newcomers at `at`, one after the other: the decisions and the state after them. */
function askMany(state: PacingState, at: number, count: number, p: PacingPolicy, prefix = "w") {
  let s = state;
  const decisions: PacingDecision[] = [];
  for (let i = 0; i < count; i++) {
    const r = decide(s, at, { recipients: 1, leaseId: `${prefix}${i}` }, p);
    decisions.push(r.decision);
    s = r.state;
  }
  return { decisions, state: s };
}

const untilOf = (d: PacingDecision) => (d.kind === "wait" ? d.until : Number.NaN);

describe("waves (the default line: the earliest start the rolling window allows)", () => {
  it("lets an idle mailbox start its connections at once and books the rest of its window one send apart per connection", () => {
    const p = policy();
    const { decisions, state } = askMany(emptyPacingState(), t0, 31, p);
    expect(decisions.slice(0, 3).map((d) => d.kind)).toEqual(["reserved", "reserved", "reserved"]);
    // SMTP AUTH's 3 connections, nothing reported back yet: groups of 3, 100 ms apart (not one per 2 s).
    const booked = decisions.slice(3, 30).map(untilOf);
    expect(booked).toEqual(Array.from({ length: 27 }, (_, i) => t0 + 100 * (1 + Math.floor(i / 3))));
    expect(decisions.slice(3, 30).every((d) => d.kind === "wait" && d.reason === "concurrency")).toBe(true);
    // The 31st waits for the first send to leave the window: 60 s after it is expected to end.
    expect(decisions[30]).toMatchObject({ kind: "wait", until: t0 + 60_100 });
    expect(state.bookedMessages).toBe(28);
    expect(state.slots?.reduce((sum, [, n]) => sum + n, 0)).toBe(28);
  });

  it("drains a backlog in waves, each as the previous wave's sends leave the window", () => {
    const p = policy({}, { concurrency: 100 });
    // 30 sends of 400 ms at t0: the window is full until t0 + 60.4 s.
    const full = sendMany(emptyPacingState(), t0, 30, p, 400);
    const { decisions } = askMany(full, t0 + second, 61, p);
    const untils = decisions.map(untilOf);
    // The next 30 all at the moment the first wave leaves; the next 30 when the second wave, planned to take as
    // long as the slowest recent send (400 ms), has left; the 61st one window after that.
    expect(untils.slice(0, 30)).toEqual(Array.from({ length: 30 }, () => t0 + 60_400));
    expect(untils.slice(30, 60)).toEqual(Array.from({ length: 30 }, () => t0 + 60_400 + 400 + 60_000));
    expect(untils[60]).toBe(t0 + 60_400 + 2 * (400 + 60_000));
    // Evenly spaced, the same backlog takes one slot per 2 s.
    const even = askMany(full, t0 + second, 31, policy({ smooth: true }, { concurrency: 100 })).decisions;
    expect(untilOf(even[30]!) - untilOf(even[0]!)).toBe(30 * 2014);
  });

  it("never lets a late finish make one too many: the slow send counts until it ends", () => {
    const p = policy({}, { concurrency: 100 });
    let state = sendMany(emptyPacingState(), t0, 29, p, 400);
    // The 30th is an upload session that took 50 s: the provider may have it only at its end.
    const slow = decide(state, t0, { recipients: 1, leaseId: "slow" }, p);
    state = release(slow.state, t0 + 50_000, { leaseId: "slow", recipients: 1 }, p).state;
    const { decisions } = askMany(state, t0 + 60_400, 30, p);
    // 29 go as the quick ones leave; the 30th of the new wave waits until the slow one is 60 s old.
    expect(decisions.slice(0, 29).every((d) => d.kind === "reserved")).toBe(true);
    expect(decisions[29]).toMatchObject({ kind: "wait", until: t0 + 50_001 + 60_000 });
  });

  it("keeps a booked message waiting for its own slot without a reservation, and its place when connections are taken", () => {
    const p = policy();
    let { state } = askMany(emptyPacingState(), t0, 3, p, "a");
    const fourth = decide(state, t0, { recipients: 1, leaseId: "d" }, p);
    const bookedAt = untilOf(fourth.decision);
    state = fourth.state;
    // Woken early (the queue wakes it ahead of its slot): it waits, and holds no connection meanwhile.
    const early = decide(state, bookedAt - 1500, { recipients: 1, leaseId: "d", bookedAt }, p);
    expect(early).toMatchObject({
      decision: { kind: "wait", until: bookedAt, reason: "early" },
      changed: false,
    });
    // At its slot the three are still sending: it keeps its slot and looks again later.
    const taken = decide(state, bookedAt, { recipients: 1, leaseId: "d", bookedAt }, p);
    expect(taken).toMatchObject({
      decision: { kind: "wait", reason: "concurrency", slotAt: bookedAt },
      changed: false,
    });
    expect(untilOf(taken.decision)).toBeGreaterThan(bookedAt);
    // Once one reports back, it goes, and its booking is taken off.
    state = release(state, bookedAt + 20, { leaseId: "a0", recipients: 1 }, p).state;
    const go = decide(state, bookedAt + 20, { recipients: 1, leaseId: "d", bookedAt }, p);
    expect(go.decision).toEqual({ kind: "reserved", startAt: bookedAt + 20, leaseId: "d" });
    expect(go.state.bookedMessages).toBe(0);
    expect(go.state.slots).toBeUndefined();
  });

  it("plans the bookings of a record without slots (the previous release's) one spacing apart before the cursor", () => {
    const p = policy({}, { concurrency: 100 });
    const full = sendMany(emptyPacingState(), t0, 30, p);
    // The previous release booked 30 evenly: the last at t0 + 118 s, the cursor one spacing after it.
    const theirs: PacingState = { ...full, cursorAt: t0 + 120_000, bookedMessages: 30, bookedRecipients: 30 };
    const next = decide(theirs, t0 + second, { recipients: 1, leaseId: "n" }, p);
    // Behind their line, and one window after the first of their bookings (t0 + 60 s) has gone.
    expect(untilOf(next.decision)).toBeGreaterThanOrEqual(t0 + 120_000);
    expect(next.decision).toMatchObject({ kind: "wait", reason: "backlog" });
  });
});

describe("Graph's upload budget (150 MB per 5 minutes per app and mailbox)", () => {
  const graph = () => pacingPolicy({ ...defaultPacingSettings, clockSkewMs: 0 }, "scan@contoso.com", "graph");
  const MB = 1_000_000;

  it("is part of the graph policy only", () => {
    expect(graph().limits).toMatchObject({ uploadBytesPerWindow: 150 * MB, uploadWindowMs: 300 * second });
    expect(policy().limits.uploadBytesPerWindow).toBeUndefined();
  });

  it("lets four 35 MB scans go and books the fifth for when the first leaves the 5-minute window", () => {
    const p = graph();
    let state: PacingState | undefined;
    for (let i = 0; i < 4; i++) {
      const r = decide(state, t0 + i * second, { recipients: 1, leaseId: `s${i}`, uploadBytes: 35 * MB }, p);
      expect(r.decision.kind).toBe("reserved");
      state = release(r.state, t0 + i * second + 999, { leaseId: `s${i}`, recipients: 1 }, p).state;
    }
    const fifth = decide(state, t0 + 5 * second, { recipients: 1, leaseId: "s4", uploadBytes: 35 * MB }, p);
    expect(fifth.decision).toMatchObject({
      kind: "wait",
      reason: "uploads",
      until: t0 + 1000 + 300 * second,
    });
    expect(fifth.state.bookedUploadBytes).toBe(35 * MB);
    // Small messages are not held up by it.
    const small = decide(
      fifth.state,
      t0 + 6 * second,
      { recipients: 1, leaseId: "t", uploadBytes: 20_000 },
      p,
    );
    expect(small.decision.kind).not.toBe("impossible");
    const view = quotaView(state, t0 + 10 * second, p);
    expect(view.limits).toMatchObject({ uploadBytesPerWindow: 150 * MB, uploadWindowSeconds: 300 });
    expect(view.usage.uploadBytesInWindow).toBe(140 * MB);
    expect(describeWait(fifth.decision as never, p, 1, 35 * MB)).toMatch(
      /Graph's upload limit of 150\.0 MB per 5 minutes and this message uploads 35\.0 MB/,
    );
  });

  it("keeps counting uploads after they leave the message window, until the upload window ends", () => {
    const p = graph();
    const r = decide(undefined, t0, { recipients: 1, leaseId: "a", uploadBytes: 100 * MB }, p);
    const sent = release(r.state, t0 + 999, { leaseId: "a", recipients: 1 }, p).state;
    expect(sent.sends[0]?.u).toBe(100 * MB);
    const later = decide(sent, t0 + 120 * second, { recipients: 1, leaseId: "b", uploadBytes: 60 * MB }, p);
    expect(later.state.sends).toEqual([]);
    expect(later.state.up).toEqual([[t0 + 1000, 100 * MB]]);
    expect(later.decision).toMatchObject({
      kind: "wait",
      reason: "uploads",
      until: t0 + 1000 + 300 * second,
    });
    expect(quotaView(sent, t0 + 301 * second + 1, p).usage.uploadBytesInWindow).toBe(0);
  });
});

describe("the stored pacing state across releases (old and new instances run side by side)", () => {
  // The schema as the previous release has it (shared/pacing/state.ts before the upload budget), verbatim.
  const ms = z.number().int().nonnegative();
  const previousRelease = z.object({
    v: z.literal(1),
    sends: z.array(
      z.object({ s: ms, e: ms, r: z.number().int().positive(), l: z.string().max(32).optional() }),
    ),
    day: z.array(z.tuple([ms, z.number().int().positive()])),
    cursorAt: ms,
    bookedMessages: z.number().int().nonnegative(),
    bookedRecipients: z.number().int().nonnegative(),
    pause: z.object({ from: ms, until: ms, reason: z.string().max(1024) }).optional(),
  });

  it("reads what the previous release wrote", () => {
    const written = JSON.stringify({
      v: 1,
      sends: [{ s: t0, e: t0 + 900, r: 2 }],
      day: [[t0 - hour, 40]],
      cursorAt: t0 + 2000,
      bookedMessages: 1,
      bookedRecipients: 3,
    });
    const state = pacingStateSchema.parse(JSON.parse(written));
    const p = pacingPolicy(defaultPacingSettings, "scan@contoso.com", "graph");
    expect(
      decide(state, t0 + 5000, { recipients: 1, leaseId: "x", uploadBytes: 5_000_000 }, p).decision.kind,
    ).toBe("reserved");
  });

  it("writes what the previous release can read", () => {
    const p = pacingPolicy({ ...defaultPacingSettings, clockSkewMs: 0 }, "scan@contoso.com", "graph");
    let state = decide(undefined, t0, { recipients: 1, leaseId: "a", uploadBytes: 90_000_000 }, p).state;
    state = release(state, t0 + 500, { leaseId: "a", recipients: 1 }, p).state;
    state = decide(
      state,
      t0 + 90 * second,
      { recipients: 1, leaseId: "b", uploadBytes: 90_000_000 },
      p,
    ).state;
    expect(state.up).toBeDefined();
    expect(state.bookedUploadBytes).toBe(90_000_000);
    const theirs = previousRelease.parse(JSON.parse(JSON.stringify(state)));
    expect(theirs.bookedMessages).toBe(state.bookedMessages);
  });

  it("writes a wave line the previous release reads, whose cursor keeps its newcomers behind the waves", () => {
    const p = policy({}, { concurrency: 100 });
    const full = sendMany(emptyPacingState(), t0, 30, p, 400);
    const { state } = askMany(full, t0 + second, 45, p);
    expect(state.slots).toBeDefined();
    const theirs = previousRelease.parse(JSON.parse(JSON.stringify(state)));
    // Their newcomer is booked at the cursor or later: after both waves ours planned, not inside them.
    expect(theirs.cursorAt).toBeGreaterThanOrEqual(t0 + 60_400 + 400 + 60_000);
    const smooth = policy({ smooth: true }, { concurrency: 100 });
    const theirNewcomer = decide(theirs, t0 + 2 * second, { recipients: 1, leaseId: "old" }, smooth);
    expect(untilOf(theirNewcomer.decision)).toBeGreaterThanOrEqual(theirs.cursorAt);
  });
});
