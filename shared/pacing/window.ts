/**
 * The pacing decision for one sending mailbox, as pure functions of (state, now, request).
 *
 * Safety comes from the gate: a reservation is granted only if the rolling windows, checked against the
 * recorded reservations, have room at its start time. Each reservation records an interval [s, e] that
 * contains the moment the provider receives the message (e is the lease expiry until the dispatcher reports
 * back), so "at most N ends in (start - window, start]" bounds the real arrivals in any window, across any
 * number of dispatchers, crashes included. Windows are lengthened by the clock-skew margin.
 *
 * Throughput and "no thundering herd" come from the line (./line.ts): a message that cannot go now is booked
 * for its own planned slot and wakes only then; by default at the earliest start the window and the
 * connections allow (waves), with `PACING_SMOOTH` one spacing apart.
 */
import type { PacingPolicy } from "./limits.js";
import {
  afterNewcomer,
  lineSlot,
  maxLatencyMs,
  messageWindowMs,
  recentLatencyMs,
  shiftSlots,
  spacingMs,
  turnDelayMs,
  withSlot,
} from "./line.js";
import {
  emptyPacingState,
  maxDayEntries,
  maxUploadEntries,
  type PacingState,
  type SendEntry,
} from "./state.js";

/** What a dispatcher asks for before sending one message. */
export interface PacingRequest {
  /** Recipients of the message (to + cc + bcc): Exchange Online counts each against the 24 h limit. */
  recipients: number;
  /** Names the reservation; the dispatcher releases it with the same id. */
  leaseId: string;
  /** The slot an earlier decision booked this message for (epoch ms); absent for a message not yet booked. */
  bookedAt?: number;
  /** Bytes the send uploads, for a provider with an upload budget (Graph); absent or 0: none. */
  uploadBytes?: number;
}

/** Why a message waits. */
export type WaitReason =
  | "messages"
  | "recipients"
  | "uploads"
  | "concurrency"
  | "paused"
  | "backlog"
  | "early";

export type PacingDecision =
  /** Send at `startAt` (now, or within `maxHoldMs`: the dispatcher waits for it in process). */
  | { kind: "reserved"; startAt: number; leaseId: string }
  /**
   * Booked: come back at `until` (re-enqueue with that visibility delay). `slotAt`, when present, is the slot the
   * message keeps (its place in the line) while it looks again at `until` for a connection: pass it back as
   * `bookedAt` from a wait in process.
   */
  | { kind: "wait"; until: number; reason: WaitReason; pauseReason?: string; slotAt?: number }
  /** The message can never fit the mailbox's limits (more recipients than the 24 h limit). */
  | { kind: "impossible"; detail: string };

/** A provider's throttling answer, fed back into the mailbox's state. */
export interface ThrottleFeedback {
  retryAfterMs: number;
  /** Exchange Online reported the daily recipient quota exhausted (554 5.2.0 SubmissionQuotaExceeded). */
  quota: boolean;
  reason: string;
}

export interface ReleaseRequest {
  leaseId: string;
  recipients: number;
  /** Present when the provider throttled this send: the mailbox pauses and the message is booked again. */
  throttle?: ThrottleFeedback;
}

/** What `GET /api/v1/mailboxes/{address}/quota` shows, in epoch ms. */
export interface QuotaView {
  limits: {
    messagesPerWindow: number;
    windowSeconds: number;
    recipientsPerDay: number;
    concurrency: number;
    /** Graph only: bytes per rolling upload window. */
    uploadBytesPerWindow?: number;
    uploadWindowSeconds?: number;
  };
  usage: { messagesInWindow: number; recipientsInDay: number; uploadBytesInWindow?: number };
  inFlight: number;
  nextSlotAt: number;
  pausedUntil?: number;
  pauseReason?: string;
}

// Date.now() has millisecond resolution.
const clockResolutionMs = 1;
// Bookings not taken up this long after the last planned slot are forgotten (cancelled or lost messages).
const bookingGraceMs = 10 * 60_000;
// Exchange Online's quota answer gives no time; probe no more often than this while the window ages.
const minQuotaPauseMs = 60_000;

const messageWindow = messageWindowMs;
const recipientWindow = (p: PacingPolicy) => p.limits.recipientWindowMs + p.clockSkewMs;
const uploadWindow = (p: PacingPolicy) => p.limits.uploadWindowMs + p.clockSkewMs;

/**
 * Decides whether the message may be sent now. Pure: the new state is returned, never written in place;
 * `changed` is false when there is nothing to store.
 */
export function decide(
  current: PacingState | undefined,
  now: number,
  request: PacingRequest,
  policy: PacingPolicy,
): { decision: PacingDecision; state: PacingState; changed: boolean } {
  const state = prune(current ?? emptyPacingState(), now, policy);
  const { limits } = policy;
  const unchanged = (decision: PacingDecision) => ({ decision, state, changed: false });
  if (request.recipients > limits.recipientsPerWindow) {
    return unchanged({
      kind: "impossible",
      detail: `the message has ${request.recipients} recipients; the mailbox may send to at most ${limits.recipientsPerWindow} in 24 hours`,
    });
  }
  const booked = request.bookedAt !== undefined;
  const upload = uploadOf(request, policy);
  const bookedUploads = state.bookedUploadBytes ?? 0;
  if (request.bookedAt !== undefined && request.bookedAt > now + policy.maxHoldMs) {
    // Woken before its slot (a visibility timeout is capped at 7 days): keep the booking, wait again.
    return unchanged({ kind: "wait", until: request.bookedAt, reason: "early" });
  }
  if (!policy.smooth && request.bookedAt !== undefined && request.bookedAt > now) {
    // Waves: woken a little before its slot, it waits for it without a reservation. A reservation holds a
    // connection from the moment it is made, and a wave's slots are one send apart per connection: holding one
    // early would keep a connection idle that the messages booked just before need.
    return unchanged({ kind: "wait", until: request.bookedAt, reason: "early" });
  }
  const spacing = spacingMs(state, policy);
  const book = (from: number, reason: WaitReason) => {
    // The slot must also leave room for the messages booked ahead, as if they were already sent; a booked
    // message taking a new slot is not ahead of itself (the line's oldest booking, which is its own).
    const ahead = booked ? { ...state, bookedMessages: Math.max(0, state.bookedMessages - 1) } : state;
    const at = lineSlot(ahead, from, now, policy);
    const next: PacingState = withBookedUploads(
      withSlot(
        {
          ...state,
          bookedMessages: state.bookedMessages + (booked ? 0 : 1),
          bookedRecipients: state.bookedRecipients + (booked ? 0 : request.recipients),
        },
        at,
        now,
        policy,
      ),
      bookedUploads + (booked ? 0 : upload),
    );
    const pauseReason = reason === "paused" ? state.pause?.reason : undefined;
    return {
      decision: { kind: "wait", until: at, reason, ...(pauseReason ? { pauseReason } : {}) } as const,
      state: next,
      changed: true,
    };
  };

  const pause = state.pause;
  if (pause) {
    if (request.bookedAt !== undefined) {
      // Every booking moves back by the pause's length, so the line keeps its spacing after the pause.
      const until = Math.max(pause.until, request.bookedAt + (pause.until - pause.from));
      return unchanged({ kind: "wait", until, reason: "paused", pauseReason: pause.reason });
    }
    const gate = gateAt(
      state,
      pause.until,
      { recipients: request.recipients + state.bookedRecipients, uploadBytes: upload + bookedUploads },
      policy,
    );
    return book(Math.max(gate.at, pause.until), "paused");
  }

  // A booked message has its place; a new one goes behind the booked ones (no overtaking).
  const gate = gateAt(
    state,
    now,
    {
      recipients: request.recipients + (booked ? 0 : state.bookedRecipients),
      uploadBytes: upload + (booked ? 0 : bookedUploads),
    },
    policy,
  );
  const startAt =
    request.bookedAt === undefined
      ? lineSlot(state, gate.at, now, policy)
      : // Woken a little before its slot: evenly spaced, it keeps to the slot; in a wave it goes as soon as the
        // window lets it (the slot only spreads the wave over the connections).
        policy.smooth
        ? Math.max(gate.at, request.bookedAt)
        : gate.at;
  if (startAt <= now + policy.maxHoldMs) {
    if (inFlight(state.sends, now) >= limits.concurrency) {
      // SMTP AUTH 3 / Graph 4 concurrent sends: those in flight report back within moments, unless their
      // dispatcher died (then wait for the lease to end).
      const retry = concurrencyRetry(state.sends, now, spacing, recentLatencyMs(state));
      // A booked message keeps its place for a moment's wait, looking again no earlier than its own slot (the
      // messages of a wave are booked one connection's send apart); a longer wait (a dead dispatcher's lease)
      // takes a new slot in the line, so the waiting messages do not all wake together when the lease ends.
      if (request.bookedAt !== undefined && retry.keepBooking) {
        return unchanged({
          kind: "wait",
          until: Math.max(
            retry.at + turnDelayMs(state, request.bookedAt, policy),
            request.bookedAt,
            // The longer it has waited past its slot, the less often it looks (half its wait so far): a message
            // that keeps losing the race for a connection costs a few reads, not one per send of the others.
            now + (now - request.bookedAt) / 2,
          ),
          reason: "concurrency",
          slotAt: request.bookedAt,
        });
      }
      return book(retry.at, "concurrency");
    }
    const entry: SendEntry = {
      s: startAt,
      e: startAt + policy.leaseMs,
      r: request.recipients,
      l: request.leaseId,
      ...(upload > 0 ? { u: upload } : {}),
    };
    const { slots, ...rest } = state;
    const bookedMessages = booked ? Math.max(0, state.bookedMessages - 1) : state.bookedMessages;
    const next: PacingState = withBookedUploads(
      {
        ...rest,
        // The wave line's slots matter only while bookings are outstanding.
        ...(slots && bookedMessages > 0 ? { slots } : {}),
        sends: [...state.sends, entry],
        cursorAt: booked ? state.cursorAt : afterNewcomer(state, startAt, now, policy),
        bookedMessages,
        bookedRecipients: booked
          ? Math.max(0, state.bookedRecipients - request.recipients)
          : state.bookedRecipients,
      },
      booked ? Math.max(0, bookedUploads - upload) : bookedUploads,
    );
    return { decision: { kind: "reserved", startAt, leaseId: request.leaseId }, state: next, changed: true };
  }
  // Missed its slot (the window filled up after all): back to the end of the line, behind every other
  // booking, recipients included, so several such messages do not all come back at one moment.
  const plan = booked
    ? gateAt(
        state,
        now,
        {
          recipients: Math.max(request.recipients, state.bookedRecipients),
          uploadBytes: Math.max(upload, bookedUploads),
        },
        policy,
      )
    : gate;
  const from = Math.max(startAt, plan.at);
  const reason: WaitReason =
    plan.recipientsAt >= from
      ? "recipients"
      : plan.uploadsAt >= from
        ? "uploads"
        : plan.messagesAt >= from
          ? "messages"
          : // Waves plan for connections too: every one taken (a dead dispatcher's lease) is the reason.
            !booked && inFlight(state.sends, now) >= limits.concurrency
            ? "concurrency"
            : "backlog";
  return book(from, reason);
}

/**
 * Records that a reservation's send finished (whatever the outcome: a rejected or failed send may still
 * have counted at the provider, so it stays in the windows). With throttling feedback the mailbox pauses,
 * bookings move back by the pause, and the throttled message is booked first after it (`plannedAt`).
 */
export function release(
  current: PacingState | undefined,
  now: number,
  request: ReleaseRequest,
  policy: PacingPolicy,
): { state: PacingState; plannedAt?: number } {
  const state = prune(current ?? emptyPacingState(), now, policy);
  // The provider has the message by now: end the interval here (later than the lease only if the send
  // outlived it, which only makes the record more conservative). Clocks read whole milliseconds, so the
  // real moment may be up to 1 ms past `now`.
  const sends = state.sends.map((s) =>
    s.l === request.leaseId
      ? { s: s.s, e: Math.max(now + clockResolutionMs, s.s), r: s.r, ...(s.u ? { u: s.u } : {}) }
      : s,
  );
  const throttle = request.throttle;
  if (!throttle) return { state: { ...state, sends } };

  const released: PacingState = { ...state, sends };
  let until = now + Math.max(0, throttle.retryAfterMs);
  if (throttle.quota) {
    // Exchange counts more than we recorded (other senders): assume the window is full and wait until
    // our own oldest recipients age out enough for this message.
    const freedAt = fullWindowFreesAt(released, request.recipients, policy);
    until = freedAt === undefined ? until : Math.max(freedAt, now + minQuotaPauseMs);
  }
  const prior = released.pause;
  const rebooked: PacingState = {
    ...released,
    bookedMessages: released.bookedMessages + 1,
    bookedRecipients: released.bookedRecipients + request.recipients,
  };
  if (prior && prior.until >= until) {
    const plannedAt = lineSlot(released, prior.until, now, policy);
    return { state: withSlot(rebooked, plannedAt, now, policy), plannedAt };
  }
  const extensionMs = until - Math.max(now, prior?.until ?? now);
  // Every booking moves back by the pause's extension (decide() moves each booked message by the pause's
  // length when it wakes); the throttled message is booked first after the pause.
  const paused: PacingState = {
    ...shiftSlots(rebooked, extensionMs),
    pause: { from: prior?.from ?? now, until, reason: throttle.reason.slice(0, 1024) },
    cursorAt: Math.max(released.cursorAt, now) + extensionMs,
  };
  return {
    state: withSlot(paused, until, now, policy),
    plannedAt: until,
  };
}

/** The mailbox's usage and next free slot, for the quota endpoint. */
export function quotaView(current: PacingState | undefined, now: number, policy: PacingPolicy): QuotaView {
  const state = prune(current ?? emptyPacingState(), now, policy);
  const { limits } = policy;
  const gate = gateAt(
    state,
    now,
    { recipients: 1 + state.bookedRecipients, uploadBytes: state.bookedUploadBytes ?? 0 },
    policy,
  );
  const nextSlotAt = lineSlot(state, Math.max(gate.at, state.pause?.until ?? 0, now), now, policy);
  const budget = limits.uploadBytesPerWindow;
  return {
    limits: {
      messagesPerWindow: limits.messagesPerWindow,
      windowSeconds: limits.messageWindowMs / 1000,
      recipientsPerDay: limits.recipientsPerWindow,
      concurrency: limits.concurrency,
      ...(budget !== undefined
        ? { uploadBytesPerWindow: budget, uploadWindowSeconds: limits.uploadWindowMs / 1000 }
        : {}),
    },
    usage: {
      messagesInWindow: state.sends.filter((s) => s.e > now - messageWindow(policy)).length,
      recipientsInDay: recipientsSince(state, now - recipientWindow(policy)),
      ...(budget !== undefined
        ? { uploadBytesInWindow: uploadsSince(state, now - uploadWindow(policy)) }
        : {}),
    },
    inFlight: inFlight(state.sends, now),
    nextSlotAt: Number.isFinite(nextSlotAt) ? nextSlotAt : now + limits.recipientWindowMs,
    ...(state.pause ? { pausedUntil: state.pause.until, pauseReason: state.pause.reason } : {}),
  };
}

/** Drops what no window can see any more; keeps the state within its bounds. */
export function prune(state: PacingState, now: number, policy: PacingPolicy): PacingState {
  // One extra skew: another instance's clock may be behind ours and still look at these entries.
  const sendHorizon = now - messageWindow(policy) - policy.clockSkewMs;
  const dayHorizon = now - recipientWindow(policy) - policy.clockSkewMs;
  const uploadHorizon = now - uploadWindow(policy) - policy.clockSkewMs;
  const sends: SendEntry[] = [];
  const day: [number, number][] = state.day.filter(([e]) => e > dayHorizon);
  const up: [number, number][] = (state.up ?? []).filter(([e]) => e > uploadHorizon);
  let moved = false;
  for (const send of state.sends) {
    if (send.e > sendHorizon) sends.push(send);
    else {
      if (send.e > dayHorizon) {
        day.push([send.e, send.r]);
        moved = true;
      }
      if (send.u !== undefined && send.e > uploadHorizon) up.push([send.e, send.u]);
    }
  }
  if (moved) day.sort((a, b) => a[0] - b[0]);
  compact(day, maxDayEntries);
  up.sort((a, b) => a[0] - b[0]);
  compact(up, maxUploadEntries);
  const { pause, up: _up, bookedUploadBytes, slots, ...rest } = state;
  const expired = state.cursorAt + bookingGraceMs < now;
  // The wave line's slots matter only while bookings are outstanding.
  const keepSlots = !expired && state.bookedMessages > 0 && slots !== undefined && slots.length > 0;
  return withBookedUploads(
    {
      ...rest,
      sends,
      day,
      ...(up.length > 0 ? { up } : {}),
      ...(expired ? { bookedMessages: 0, bookedRecipients: 0 } : {}),
      ...(pause && pause.until > now ? { pause } : {}),
      ...(keepSlots ? { slots } : {}),
    },
    expired ? 0 : (bookedUploadBytes ?? 0),
  );
}

/** Sets the booked upload bytes, leaving the field out at zero (records without uploads keep their shape). */
function withBookedUploads(state: PacingState, bytes: number): PacingState {
  const { bookedUploadBytes: _old, ...rest } = state;
  return bytes > 0 ? { ...rest, bookedUploadBytes: bytes } : rest;
}

/** The upload bytes a request counts against the mailbox's budget (none where the provider has no budget). */
function uploadOf(request: PacingRequest, policy: PacingPolicy): number {
  if (policy.limits.uploadBytesPerWindow === undefined) return 0;
  return Math.max(0, Math.floor(request.uploadBytes ?? 0));
}

/**
 * Merges the two closest neighbours until `day` fits: the merged entry keeps the later end, so the
 * recipients count for at least as long as they really do (never less safe, at most slightly slower).
 */
function compact(day: [number, number][], maxEntries: number): void {
  while (day.length > maxEntries) {
    let best = 0;
    for (let i = 1; i < day.length - 1; i++) {
      if (day[i + 1]![0] - day[i]![0] < day[best + 1]![0] - day[best]![0]) best = i;
    }
    const [first, second] = [day[best]!, day[best + 1]!];
    day.splice(best, 2, [second[0], first[1] + second[1]]);
  }
}

/** The earliest start ≥ `at` at which every rolling window has room for one more message of this size. */
function gateAt(
  state: PacingState,
  at: number,
  needs: { recipients: number; uploadBytes: number },
  policy: PacingPolicy,
) {
  const messagesAt = messageSlot(state.sends, at, policy);
  const recipientsAt = recipientSlot(state, at, needs.recipients, policy);
  const uploadsAt = uploadSlot(state, at, needs.uploadBytes, policy);
  return { at: Math.max(messagesAt, recipientsAt, uploadsAt), messagesAt, recipientsAt, uploadsAt };
}

/**
 * Graph: at most the budget's bytes uploaded in any rolling 5 minutes per app and mailbox; wait until enough of
 * the recorded uploads age out. A message larger than the whole budget waits for an empty window.
 */
function uploadSlot(state: PacingState, at: number, needed: number, policy: PacingPolicy): number {
  const budget = policy.limits.uploadBytesPerWindow;
  if (budget === undefined || needed <= 0) return at;
  return roomAt(uploadEntries(state), at, uploadWindow(policy), budget, Math.min(needed, budget));
}

function uploadEntries(state: PacingState): [number, number][] {
  const fromSends = state.sends.flatMap((s): [number, number][] => (s.u ? [[s.e, s.u]] : []));
  return [...(state.up ?? []), ...fromSends].sort((a, b) => a[0] - b[0]);
}

function uploadsSince(state: PacingState, since: number): number {
  return uploadEntries(state).reduce((sum, [e, bytes]) => (e > since ? sum + bytes : sum), 0);
}

/** Exchange Online: at most N messages in any rolling window; the N-th latest end must leave it first. */
function messageSlot(sends: readonly SendEntry[], at: number, policy: PacingPolicy): number {
  const ends = sends.map((s) => s.e).sort((a, b) => b - a);
  const nth = ends[policy.limits.messagesPerWindow - 1];
  return nth === undefined ? at : Math.max(at, nth + messageWindow(policy));
}

/** Exchange Online: at most M recipients in any rolling 24 h; wait until enough of them age out. */
function recipientSlot(state: PacingState, at: number, needed: number, policy: PacingPolicy): number {
  const max = policy.limits.recipientsPerWindow;
  const window = recipientWindow(policy);
  if (needed > max) {
    // The messages booked ahead alone overfill the window. They go out between now and the cursor; plan
    // for when the first `needed - max` of their recipients age out (a plan only: the gate decides).
    const booked = Math.max(1, state.bookedRecipients);
    const aheadMs = Math.max(0, state.cursorAt - at);
    return at + window + Math.ceil(aheadMs * Math.min(1, (needed - max) / booked));
  }
  return roomAt(allEntries(state), at, window, max, needed);
}

/**
 * The earliest start ≥ `at` at which `[end, amount]` entries (sorted by end) that ended in the last `windowMs`
 * leave room for `needed` more under `limit`: the moment enough of the oldest ones age out.
 */
function roomAt(
  entries: readonly [number, number][],
  at: number,
  windowMs: number,
  limit: number,
  needed: number,
): number {
  const inWindow = entries.filter(([e]) => e > at - windowMs);
  let total = inWindow.reduce((sum, [, amount]) => sum + amount, 0);
  if (total + needed <= limit) return at;
  for (const [e, amount] of inWindow) {
    total -= amount;
    if (total + needed <= limit) return e + windowMs;
  }
  return at + windowMs;
}

/** When `recipients` would fit if the provider's window were full now: our oldest recipients ageing out. */
function fullWindowFreesAt(state: PacingState, recipients: number, policy: PacingPolicy): number | undefined {
  let freed = 0;
  for (const [e, r] of allEntries(state)) {
    freed += r;
    if (freed >= recipients) return e + recipientWindow(policy);
  }
  return undefined;
}

function allEntries(state: PacingState): [number, number][] {
  return [...state.day, ...state.sends.map((s): [number, number] => [s.e, s.r])].sort((a, b) => a[0] - b[0]);
}

function recipientsSince(state: PacingState, since: number): number {
  return allEntries(state).reduce((sum, [e, r]) => (e > since ? sum + r : sum), 0);
}

// The shortest wait before asking again for a connection.
const minConcurrencyRetryMs = 100;

/**
 * When to ask again for a connection. While sends are in flight normally: when the first is expected to end
 * (by the slowest recent send; one already slower than that, after as long again as it has taken, so the
 * looks back off), and at the latest one spacing from now, so a message that lost the connection to the next
 * booked one comes back before the next slot instead of colliding with it again. When every send in flight is
 * older than any real send takes (its dispatcher died): its lease end, in a new slot.
 */
function concurrencyRetry(
  sends: readonly SendEntry[],
  now: number,
  spacing: number,
  latencyMs: number,
): { at: number; keepBooking: boolean } {
  const live = sends.filter((s) => s.l !== undefined && s.e > now);
  if (live.some((s) => now - s.s < maxLatencyMs)) {
    const expectedFree = Math.min(
      ...live.map((s) => (s.s + latencyMs > now ? s.s + latencyMs : now + (now - s.s))),
    );
    return {
      at: Math.min(now + spacing, Math.max(now + minConcurrencyRetryMs, expectedFree)),
      keepBooking: true,
    };
  }
  return { at: Math.max(now + spacing, Math.min(...live.map((s) => s.e))), keepBooking: false };
}

function inFlight(sends: readonly SendEntry[], now: number): number {
  return sends.filter((s) => s.l !== undefined && s.e > now).length;
}
