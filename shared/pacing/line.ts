/**
 * The line of one sending mailbox: where a message that cannot go now is booked, so a backlog wakes one
 * message at a time, each at its own slot, instead of all at once. It only plans: the gate (./window.ts)
 * alone decides whether a send may start, so a plan that turns out wrong costs a message a second look at
 * its slot, never a send over the limit.
 *
 * Two shapes (`PacingPolicy.smooth`, the `PACING_SMOOTH` setting):
 * - Waves (the default). Exchange Online's rule is a count in any rolling window ("30 messages per minute",
 *   https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits#sending-limits-1),
 *   so a message is booked at the earliest start the window allows, counting the messages booked ahead as
 *   sent at their slots, and the connections allow (SMTP AUTH 3, Graph 4 concurrent requests,
 *   https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits). An idle mailbox sends its
 *   window's worth as fast as its connections go; a backlog drains in waves, each as the oldest sends of the
 *   previous one leave the window.
 * - Even spacing: one slot per (window + send time) / limit, a steady trickle for tenants that want it.
 */
import type { PacingPolicy } from "./limits.js";
import type { PacingState, SendEntry } from "./state.js";

// Send latency above this is an outlier (a send that outlived its lease); it must not stretch the plan. A send
// in flight longer than this is taken for one whose dispatcher died (as ./window.ts does for connections).
export const maxLatencyMs = 10_000;
// A connection is planned busy at least this long: before any send has reported back, a wave's connections
// are booked this far apart, so the messages waiting for them look again one group at a time.
const minPlannedSendMs = 100;
// A booked send is planned to hold its connection twice as long as the slowest recent send. Planning long
// spreads a wave's groups a little further apart; planning short makes several messages due for one connection,
// and all but one look again. (The window counts the slowest recent send only: slack there would add up over
// the waves of a long backlog.)
const plannedSendFactor = 2;

/** The message window lengthened by the clock-skew margin, as the gate counts it. */
export const messageWindowMs = (p: PacingPolicy): number => p.limits.messageWindowMs + p.clockSkewMs;

/**
 * The earliest planned start ≥ `from` for one more message, behind the messages booked ahead (never before
 * the cursor: a newcomer does not overtake them).
 */
export function lineSlot(state: PacingState, from: number, now: number, policy: PacingPolicy): number {
  const start = Math.max(from, state.cursorAt);
  return policy.smooth ? evenSlot(state, start, policy) : waveSlot(state, start, now, policy);
}

/**
 * Records a booking at `at` in the line; the booking counts are the caller's (already counted in `state`).
 * Even spacing moves the cursor one spacing on; waves keep the slot and move the cursor to the next free one.
 */
export function withSlot(state: PacingState, at: number, now: number, policy: PacingPolicy): PacingState {
  const { slots, ...rest } = state;
  if (policy.smooth) return { ...rest, cursorAt: Math.max(state.cursorAt, at + spacingMs(state, policy)) };
  const booked: PacingState = {
    ...rest,
    slots: appendSlot(slots ?? [], at, policy.limits.messagesPerWindow),
  };
  return { ...booked, cursorAt: Math.max(state.cursorAt, waveSlot(booked, at, now, policy)) };
}

/** Moves every booked slot `byMs` later (a throttling pause moves the bookings back by its length). */
export function shiftSlots(state: PacingState, byMs: number): PacingState {
  if (!state.slots || byMs <= 0) return state;
  return { ...state, slots: state.slots.map(([at, n]): [number, number] => [at + byMs, n]) };
}

/** Where a newcomer that got a reservation behind the line leaves the cursor. */
export function afterNewcomer(
  state: PacingState,
  startAt: number,
  now: number,
  policy: PacingPolicy,
): number {
  if (state.cursorAt <= now) return state.cursorAt;
  // Waves: the send is in the windows now, so the next newcomer's slot already counts it.
  return policy.smooth ? Math.max(state.cursorAt, startAt + spacingMs(state, policy)) : state.cursorAt;
}

/**
 * How long a booked message that found every connection taken lets the ones booked before it go first: one
 * send per connection for each booking still outstanding with an earlier slot. Without it, every message whose
 * slot has come would look again the moment the first connection is expected free, and all but one would lose.
 */
export function turnDelayMs(state: PacingState, bookedAt: number, policy: PacingPolicy): number {
  const { messagesPerWindow: N, concurrency: K } = policy.limits;
  const ahead = bookedSlots(state, Math.min(state.bookedMessages, N), policy).filter((at) => at < bookedAt);
  return Math.floor(ahead.length / K) * plannedSendMs(state);
}

/**
 * Even spacing: the window (with its margin) plus the slowest recent send, per message (the gate counts a
 * send until its end, so spacing by the window alone would fall behind by the latency), or the slowest send
 * per connection when the concurrency limit is the tighter one.
 */
export function spacingMs(state: PacingState, policy: PacingPolicy): number {
  const latencyMs = recentLatencyMs(state);
  const byWindow = (messageWindowMs(policy) + latencyMs) / policy.limits.messagesPerWindow;
  // With few connections and slow sends, concurrency is the tighter limit: K sends per send time.
  const byConcurrency = latencyMs / policy.limits.concurrency;
  return Math.ceil(Math.max(byWindow, byConcurrency));
}

/** The slowest recent send (released ones in the message window), outliers capped. */
export function recentLatencyMs(state: PacingState): number {
  let latencyMs = 0;
  for (const send of state.sends) if (send.l === undefined) latencyMs = Math.max(latencyMs, send.e - send.s);
  return Math.min(latencyMs, maxLatencyMs);
}

/**
 * Even spacing: the earliest start ≥ `from` at which the message window has room once the messages booked
 * ahead have gone: they are counted as sends at their planned slots (one spacing apart, the last just before
 * the cursor).
 */
function evenSlot(state: PacingState, from: number, policy: PacingPolicy): number {
  const N = policy.limits.messagesPerWindow;
  const planned = evenlyBooked(state.cursorAt, Math.min(state.bookedMessages, N), spacingMs(state, policy));
  // A plan, not the gate: a send in flight is expected to end as the recent ones did, not at its lease end.
  const latencyMs = recentLatencyMs(state);
  const ends = [
    ...state.sends.map((s) => (s.l === undefined ? s.e : Math.min(s.e, s.s + latencyMs))),
    ...planned,
  ];
  ends.sort((a, b) => b - a);
  const nth = ends[N - 1];
  return nth === undefined ? from : Math.max(from, nth + messageWindowMs(policy));
}

/**
 * Waves: the earliest start ≥ `from`, not before the last booked slot, at which fewer than N sends end inside
 * the window before it and fewer than K are still under way. Booked sends are expected to take as long as the
 * slowest recent send, and so are those in flight, unless they already took longer (then as long again, up to
 * the lease end) or their dispatcher died (the lease end, when the gate will let the window go on). Everything
 * counted starts no later than the answer, so "fewer than N ends after t − window" and "fewer than K ends
 * after t" are the window's and the connections' rules.
 */
function waveSlot(state: PacingState, from: number, now: number, policy: PacingPolicy): number {
  const { messagesPerWindow: N, concurrency: K } = policy.limits;
  const planned = bookedSlots(state, Math.min(state.bookedMessages, N), policy);
  // The window counts a send until it ends: as long as the slowest recent one. A connection is planned busy
  // longer (plannedSendMs), so the messages of a wave come back one group at a time even when sends vary.
  const endsAfter = (sendMs: number) =>
    [
      ...state.sends.map((s) => (s.l === undefined ? s.e : expectedEnd(s, now, sendMs))),
      ...planned.map((at) => at + sendMs),
    ].sort((a, b) => b - a);
  let at = planned.reduce((latest, slot) => Math.max(latest, slot), from);
  const nth = endsAfter(Math.max(recentLatencyMs(state), minPlannedSendMs))[N - 1];
  if (nth !== undefined) at = Math.max(at, nth + messageWindowMs(policy));
  const kth = endsAfter(plannedSendMs(state))[K - 1];
  if (kth !== undefined) at = Math.max(at, kth);
  return at;
}

/**
 * The planned slots of the last `ahead` bookings (they are taken in slot order, so the outstanding ones are the
 * latest). Bookings the record has no slot for (made by a release that spaced them evenly, whose write also
 * drops `slots`) are planned as that release planned them: one spacing apart before the earliest known slot.
 */
function bookedSlots(state: PacingState, ahead: number, policy: PacingPolicy): number[] {
  const known: number[] = [];
  const slots = state.slots ?? [];
  for (let i = slots.length - 1; i >= 0 && known.length < ahead; i--) {
    const [at, count] = slots[i]!;
    for (let k = 0; k < count && known.length < ahead; k++) known.push(at);
  }
  const before = known[known.length - 1] ?? state.cursorAt;
  return [...known, ...evenlyBooked(before, ahead - known.length, spacingMs(state, policy))];
}

/** How long a booked send is planned to hold its connection. */
function plannedSendMs(state: PacingState): number {
  return Math.max(plannedSendFactor * recentLatencyMs(state), minPlannedSendMs);
}

/** When a send in flight is expected to end (never after its lease: the gate counts it until then). */
function expectedEnd(send: SendEntry, now: number, sendMs: number): number {
  const tookMs = now - send.s;
  if (tookMs > maxLatencyMs) return send.e;
  return Math.min(send.e, Math.max(send.s + sendMs, now + tookMs));
}

function evenlyBooked(before: number, count: number, spacing: number): number[] {
  return Array.from({ length: Math.max(0, count) }, (_, i) => before - (i + 1) * spacing);
}

/** Adds one booking at `at` (ascending, equal starts merged), keeping only the latest `max` bookings. */
function appendSlot(slots: readonly [number, number][], at: number, max: number): [number, number][] {
  const next = slots.map(([s, n]): [number, number] => [s, n]);
  const index = next.findIndex(([s]) => s >= at);
  if (index === -1) next.push([at, 1]);
  else if (next[index]![0] === at) next[index]![1] += 1;
  else next.splice(index, 0, [at, 1]);
  let total = next.reduce((sum, [, n]) => sum + n, 0);
  while (total > max && next.length > 0) {
    const first = next[0]!;
    const drop = Math.min(first[1], total - max);
    first[1] -= drop;
    total -= drop;
    if (first[1] === 0) next.shift();
  }
  return next;
}
