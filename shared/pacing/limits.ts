import type { TransportName } from "../domain/client.js";

const second = 1000;
const minute = 60 * second;
const hour = 3600 * second;

/** Graph's upload volume is counted over 5 minutes. */
export const graphUploadWindowMs = 5 * minute;

/** The sending limits of one mailbox, after overrides and the safety margin. */
export interface MailboxLimits {
  /** Exchange Online: 30 messages in any rolling 60 s per sending mailbox. */
  messagesPerWindow: number;
  /** Length of the rolling message window (60 s in Exchange Online; scaled down in tests). */
  messageWindowMs: number;
  /** Exchange Online: 10,000 recipients in any rolling 24 hours per sending mailbox. */
  recipientsPerWindow: number;
  /** Length of the rolling recipient window (24 h). */
  recipientWindowMs: number;
  /** SMTP AUTH: 3 concurrent connections per mailbox; Graph: 4 concurrent requests per app and mailbox. */
  concurrency: number;
  /**
   * Graph: bytes uploaded in any rolling `uploadWindowMs` per app and mailbox (150 MB per 5 minutes,
   * https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits); absent for the SMTP options.
   */
  uploadBytesPerWindow?: number;
  uploadWindowMs: number;
}

/** How the pacer plays safe: margins for clocks and crashes, and how long a dispatcher may hold a slot. */
export interface PacingPolicy {
  limits: MailboxLimits;
  /**
   * The largest difference between two instances' clocks. Every window is lengthened by it, so a send
   * recorded by a fast clock and one by a slow clock still fall a whole window apart in real time.
   */
  clockSkewMs: number;
  /**
   * How long a reservation counts as in flight when its dispatcher never reports back (a crash).
   * Must exceed the longest a transport can take to send (SMTP socket timeout: 120 s).
   */
  leaseMs: number;
  /** A slot that opens within this long is reserved now and the dispatcher waits for it in process. */
  maxHoldMs: number;
  /**
   * How waiting messages are lined up (`PACING_SMOOTH`): false, each at the earliest start the rolling window
   * and the connection limit allow (an idle mailbox sends its window's worth at once, a backlog drains in
   * waves); true, one start per spacing ((window + send time) / limit), a steady trickle.
   */
  smooth: boolean;
}

/** Pacing settings from configuration (`MAILBOX_*` and `PACING_*` app settings). */
export interface PacingSettings {
  /** Messages in any rolling `messageWindowMs` (Exchange Online: 30 per 60 s). */
  messagesPerWindow: number;
  messageWindowMs: number;
  /** Recipients in any rolling 24 hours (Exchange Online: 10,000). */
  recipientsPerWindow: number;
  /** Concurrent sends per mailbox; unset: 4 for graph (Graph's limit), 3 otherwise (SMTP AUTH's limit). */
  concurrency?: number;
  /** High Volume Email accounts have limits of their own instead of the mailbox limits above. */
  hve?: { messagesPerWindow: number; recipientsPerWindow: number; concurrency: number };
  /** Graph's upload budget per mailbox in any rolling 5 minutes, in bytes. */
  graphUploadBytesPerWindow?: number;
  /** Per-mailbox overrides, keyed by lower-case address. */
  mailboxes: Record<
    string,
    { messagesPerWindow?: number; recipientsPerWindow?: number; concurrency?: number }
  >;
  /** Percentage taken off the message and recipient limits, for mailboxes that also send elsewhere. */
  safetyMarginPercent: number;
  /** Largest clock difference between two instances; every window is lengthened by it. */
  clockSkewMs: number;
  /** How long a reservation whose dispatcher never reported back (a crash) stays in flight. */
  leaseMs: number;
  /** Even spacing instead of the whole rolling window (`PACING_SMOOTH=true`). */
  smooth: boolean;
}

export const defaultPacingSettings: PacingSettings = {
  messagesPerWindow: 30,
  messageWindowMs: 60 * second,
  recipientsPerWindow: 10_000,
  mailboxes: {},
  safetyMarginPercent: 0,
  clockSkewMs: 1 * second,
  leaseMs: 300 * second,
  graphUploadBytesPerWindow: 150_000_000,
  smooth: false,
};

/** Graph allows 4 concurrent requests per app and mailbox; the SMTP options share SMTP AUTH's 3 connections. */
export function defaultConcurrency(transport: TransportName): number {
  return transport === "graph" ? 4 : 3;
}

// Longest a dispatcher waits in process for a slot that is about to open; longer waits go back to the queue.
const maxHoldMs = 5 * second;

/** The policy for one mailbox: global limits, then its overrides, then the safety margin. */
export function pacingPolicy(
  settings: PacingSettings,
  mailbox: string,
  transport: TransportName,
): PacingPolicy {
  const own = settings.mailboxes[mailbox.toLowerCase()] ?? {};
  const keep = (limit: number) =>
    Math.max(1, Math.floor((limit * (100 - settings.safetyMarginPercent)) / 100));
  // An HVE account is not a mailbox: its own limits replace the mailbox limits (a per-mailbox override still wins).
  const base = transport === "hve" && settings.hve ? settings.hve : settings;
  const uploadBudget = transport === "graph" ? settings.graphUploadBytesPerWindow : undefined;
  return {
    limits: {
      messagesPerWindow: keep(own.messagesPerWindow ?? base.messagesPerWindow),
      messageWindowMs: settings.messageWindowMs,
      recipientsPerWindow: keep(own.recipientsPerWindow ?? base.recipientsPerWindow),
      recipientWindowMs: 24 * hour,
      // Concurrency is a connection count, not a rate: the margin does not apply.
      concurrency: own.concurrency ?? base.concurrency ?? defaultConcurrency(transport),
      ...(uploadBudget !== undefined ? { uploadBytesPerWindow: keep(uploadBudget) } : {}),
      uploadWindowMs: graphUploadWindowMs,
    },
    clockSkewMs: settings.clockSkewMs,
    leaseMs: settings.leaseMs,
    maxHoldMs: Math.min(maxHoldMs, settings.messageWindowMs),
    smooth: settings.smooth,
  };
}
