import { z } from "zod";

const ms = z.number().int().nonnegative();

/**
 * One reservation still relevant to the message window or in flight. Times are epoch milliseconds.
 * `e` is an upper bound on when the provider received the message: the lease expiry while in flight,
 * the moment the send finished once released.
 */
const sendSchema = z.object({
  /** Start: the dispatcher sends no earlier than this. */
  s: ms,
  /** End: the provider has the message by then. */
  e: ms,
  /** Recipients (to + cc + bcc). */
  r: z.number().int().positive(),
  /** Lease id while the dispatcher has not reported back. */
  l: z.string().max(32).optional(),
  /** Bytes the send uploads to a provider with an upload budget (Graph: 150 MB per 5 minutes); absent: none. */
  u: z.number().int().positive().optional(),
});
export type SendEntry = z.infer<typeof sendSchema>;

/**
 * Pacing state of one sending mailbox; stored as JSON in one Table entity (64 KiB per string property).
 * Version 1. Bounded: `sends` holds about one message window of reservations (≤ limit + in flight),
 * `day` at most `maxDayEntries` entries (older reservations merged, conservatively, when it would grow),
 * `up` at most `maxUploadEntries`.
 *
 * The upload budget's fields (`u`, `up`, `bookedUploadBytes`) were added within version 1, all optional:
 * the previous release reads a record this one writes (zod drops what it does not know, so a write of
 * theirs forgets recent upload bytes, which only lets Graph throttle as it did before), and this release
 * reads theirs. A change the previous release could not parse would need version 2 and a reader for both.
 *
 * The wave line (`slots`, and `cursorAt` as the wave line's next free slot) is also within version 1: it
 * plans, the gate decides. What makes a send safe, the `sends` intervals and the windows checked against
 * them, means what it meant, so instances of either release may share a record during a deploy and the
 * rolling windows still hold. The previous release reads `cursorAt` as its next free slot (true here too, so
 * its newcomers go no earlier than ours) and ignores `slots`; when it writes, `slots` is dropped and this
 * release plans the remaining bookings as evenly spaced before the cursor, as that release booked them.
 * A wrong plan costs a message a second look at its slot, never a message over the limit.
 */
export const pacingStateSchema = z.object({
  v: z.literal(1),
  sends: z.array(sendSchema),
  /** `[end, recipients]` of reservations that left the message window, kept for the 24 h recipient window. */
  day: z.array(z.tuple([ms, z.number().int().positive()])),
  /**
   * The next free planned slot: a message that has to wait is booked no earlier (evenly spaced: one spacing
   * after the last booking; waves: the earliest start the window and the connections leave).
   */
  cursorAt: ms,
  /** Messages booked for a future slot and not yet reserved, and their recipients. */
  bookedMessages: z.number().int().nonnegative(),
  bookedRecipients: z.number().int().nonnegative(),
  /** Set when the provider throttled the mailbox: nothing is sent before `until`. */
  pause: z.object({ from: ms, until: ms, reason: z.string().max(1024) }).optional(),
  /** `[end, bytes]` of uploads that left the message window, kept for the (longer) upload window. */
  up: z.array(z.tuple([ms, z.number().int().positive()])).optional(),
  /** Upload bytes of the messages booked for a future slot. */
  bookedUploadBytes: z.number().int().nonnegative().optional(),
  /**
   * `[start, messages]` of the latest planned slots of the wave line (at most one window's worth of messages),
   * ascending; absent when nothing is booked or the line is evenly spaced (`PACING_SMOOTH`).
   */
  slots: z.array(z.tuple([ms, z.number().int().positive()])).optional(),
});
export type PacingState = z.infer<typeof pacingStateSchema>;

// 1,000 entries of `[1712345678901,500]` stay under 25 KB, well inside Table's 64 KiB per string property.
export const maxDayEntries = 1000;
// Graph's budget (150 MB per 5 minutes) is spent by a few hundred sends at most; merged beyond that.
export const maxUploadEntries = 300;

export function emptyPacingState(): PacingState {
  return { v: 1, sends: [], day: [], cursorAt: 0, bookedMessages: 0, bookedRecipients: 0 };
}
