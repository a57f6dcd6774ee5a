import type { SendOutcome } from "../outcome.js";

const second = 1000;
const minute = 60 * second;

/** Which Graph call failed: the same status means different things on different calls. */
export type GraphStep =
  | "sendMail"
  | "draft"
  | "attachment"
  | "uploadSession"
  | "upload"
  | "send"
  /** GET of a draft recorded by an earlier attempt: is it still a draft? */
  | "reconcile"
  /** DELETE of a draft that will not be sent. */
  | "discard";

/** The parts of a failed Graph call we classify on. */
export interface GraphFailure {
  step: GraphStep;
  /** HTTP status; undefined when no answer came (connection reset, timeout). */
  status?: number;
  /** Graph's `error.code` (`ErrorSendAsDenied`), or the network error's code (`ECONNRESET`). */
  code?: string;
  message: string;
  /** The `Retry-After` header as sent: seconds or an HTTP date. */
  retryAfter?: string;
}

export interface ThrottleContext {
  /** Throttling answers this mailbox got in a row before this one; drives the fallback backoff. */
  consecutiveThrottles: number;
  nowMs: number;
  /** [0, 1); spreads fallback delays so a backlog does not wake all at once. */
  random(): number;
}

/** Backoff when a throttling answer has no Retry-After (Graph throttling guidance): 15 s doubling to 15 min. */
export const fallbackBaseMs = 15 * second;
export const fallbackCapMs = 15 * minute;

export function fallbackRetryAfterMs(consecutiveThrottles: number, random: () => number): number {
  const exponential = Math.min(fallbackCapMs, fallbackBaseMs * 2 ** Math.min(consecutiveThrottles, 16));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** `Retry-After` in milliseconds (delta-seconds or HTTP date), at least 1 s; undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * second : Date.parse(trimmed) - nowMs;
  return Number.isFinite(ms) ? Math.max(second, ms) : undefined;
}

interface GraphRule {
  when(f: GraphFailure): boolean;
  outcome(f: GraphFailure, code: string, ctx: ThrottleContext): SendOutcome;
}

const throttled = (f: GraphFailure, code: string, ctx: ThrottleContext): SendOutcome => ({
  kind: "throttled",
  // Graph's throttling is per app and mailbox over minutes (requests, 4 concurrent, upload volume); a quota
  // over 24 h is not answered synchronously (an NDR arrives in the mailbox later).
  cause: /MailboxConcurrency/i.test(`${f.code ?? ""} ${f.message}`) ? "concurrency" : "rate",
  retryAfterMs:
    parseRetryAfterMs(f.retryAfter, ctx.nowMs) ?? fallbackRetryAfterMs(ctx.consecutiveThrottles, ctx.random),
  code,
  text: f.message,
});
const transient = (f: GraphFailure, code: string): SendOutcome => ({
  kind: "transient",
  code,
  text: f.message,
});
const permanent = (f: GraphFailure, code: string): SendOutcome => ({
  kind: "permanent",
  code,
  text: f.message,
});

const status =
  (...codes: number[]) =>
  (f: GraphFailure) =>
    f.status !== undefined && codes.includes(f.status);

// First match wins. Sources: Graph "Microsoft Graph error responses", "throttling guidance",
// user-sendmail and "Attach large files":
// https://learn.microsoft.com/graph/errors, https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits,
// https://learn.microsoft.com/graph/api/user-sendmail, https://learn.microsoft.com/graph/outlook-large-attachments
const rules: GraphRule[] = [
  {
    // The draft, its attachments and upload sessions need Mail.ReadWrite; an app with Mail.Send alone gets
    // 403 ErrorAccessDenied on these steps and nowhere else.
    when: (f) =>
      (f.step === "draft" || f.step === "attachment" || f.step === "uploadSession") && f.status === 403,
    outcome: (f, code) => ({
      kind: "permanent",
      code,
      text:
        "Mail.ReadWrite permission is missing: a message over Graph's 4 MB request limit is sent through a " +
        "draft and attachment upload sessions, which need the Mail.ReadWrite application permission besides " +
        `Mail.Send (for this mailbox). Graph said: ${f.message}`,
    }),
  },
  {
    // sendMail and send need the Mail.Send application permission (user-sendmail, "Permissions"), granted
    // tenant-wide or for this mailbox through RBAC for Applications.
    when: (f) =>
      (f.step === "sendMail" || f.step === "send") && f.status === 403 && f.code === "ErrorAccessDenied",
    outcome: (f, code) => ({
      kind: "permanent",
      code,
      text:
        "Mail.Send permission is missing for this mailbox: grant the app the Mail.Send application permission " +
        `(or add the mailbox to its RBAC for Applications scope), then retry. Graph said: ${f.message}`,
    }),
  },
  // 429: per-app/per-mailbox limits (10,000 requests per 10 min, 4 concurrent, 150 MB upload per 5 min).
  { when: status(429), outcome: throttled },
  // 503 is Graph's "service busy": throttling, with or without Retry-After.
  { when: status(503), outcome: throttled },
  // A gateway error with Retry-After is the service asking us to wait; a sendMail 504 may still be delivered.
  { when: (f) => status(500, 502, 504)(f) && f.retryAfter !== undefined, outcome: throttled },
  // 401: the token was refused (expired, wrong tenant or audience); the next attempt fetches a fresh one.
  { when: status(401), outcome: transient },
  { when: status(408), outcome: transient },
  { when: (f) => f.status !== undefined && f.status >= 500, outcome: transient },
  // Everything else 4xx: our request or the mailbox is wrong (400 bad recipient or header, 403 send-as or
  // access denied, 404 mailbox, 413 too large); the same request will fail the same way.
  { when: (f) => f.status !== undefined && f.status >= 400, outcome: permanent },
];

/** Classifies a failed Graph call (or a call that got no answer) into what happens next. */
export function classifyGraphFailure(failure: GraphFailure, ctx: ThrottleContext): SendOutcome {
  const code =
    failure.status === undefined
      ? (failure.code ?? "network")
      : [failure.status, failure.code].filter(Boolean).join(" ");
  const rule = rules.find((r) => r.when(failure));
  // No answer at all (reset, timeout): retry through the queue; the retry budget bounds it.
  return rule ? rule.outcome(failure, code, ctx) : transient(failure, code);
}
