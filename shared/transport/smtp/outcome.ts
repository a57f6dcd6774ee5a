import type { SendOutcome, ThrottleCause } from "../outcome.js";
import { basicAuthRefused, directSendRejected, passwordRefused, tokenRefused } from "./advice.js";
import type { SmtpContext } from "./context.js";

export type { SmtpContext } from "./context.js";

const minute = 60_000;

interface SmtpRule {
  /** Matched against `"<reply code> <enhanced status> <text>"`. */
  pattern: RegExp;
  /** Only for sessions that logged in this way (absent: any). */
  login?: SmtpContext["login"];
  outcome: (code: string, text: string, context: SmtpContext | undefined) => SendOutcome;
}

const throttled =
  (retryAfterMs: number, cause: ThrottleCause) =>
  (code: string, text: string): SendOutcome => ({
    kind: "throttled",
    retryAfterMs,
    cause,
    code,
    text,
  });
const transient = (code: string, text: string): SendOutcome => ({ kind: "transient", code, text });
const permanent = (code: string, text: string): SendOutcome => ({ kind: "permanent", code, text });
/** A final failure whose status reason says what to do about it. */
const advised =
  (advice: (context: SmtpContext | undefined) => string) =>
  (code: string, text: string, context: SmtpContext | undefined): SendOutcome => ({
    kind: "permanent",
    code,
    text,
    reason: advice(context),
  });

// Exchange Online's replies; first match wins. Sources: "SMTP AUTH client submission" and "Exchange Online
// limits" (https://learn.microsoft.com/exchange/mail-flow-best-practices/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365,
// https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits);
// basic authentication's retirement (https://techcommunity.microsoft.com/blog/exchange/exchange-online-to-retire-basic-auth-for-client-submission-smtp-auth/4114750);
// the tenant external recipient limit (https://techcommunity.microsoft.com/blog/exchange/introducing-exchange-online-tenant-outbound-email-limits/4372797);
// Reject Direct Send (https://techcommunity.microsoft.com/blog/exchange/introducing-more-control-over-direct-send-in-exchange-online/4408790).
const rules: SmtpRule[] = [
  // 3 concurrent SMTP AUTH connections per mailbox; the 4th is refused.
  { pattern: /^432\b|\b4\.3\.2\b/, outcome: throttled(minute, "concurrency") },
  // Daily recipient quota (10,000 per rolling 24 h) exhausted: wait for the window, do not fail. Only this
  // 554 5.2.0: the same code also carries SendAsDenied and other STOREDRV failures that are permanent.
  { pattern: /SubmissionQuotaExceeded/i, outcome: throttled(60 * minute, "quota") },
  // Continuous-error throttling of SMTP AUTH submissions.
  { pattern: /\b5\.2\.25[1-5]\b/, outcome: throttled(15 * minute, "rate") },
  // The whole tenant is over its external recipients in the last 24 h: not this message's fault. External
  // sending pauses for every mailbox; the pause's own interval (TENANT_EXTERNAL_PROBE_MINUTES) replaces this.
  { pattern: /^5\d\d[ -]5\.7\.233\b/, outcome: throttled(30 * minute, "tenantExternal") },
  // Basic authentication off for the mailbox or tenant, or gone: no retry helps, the client must change.
  { pattern: /^535[ -]5\.7\.139\b/, outcome: advised(basicAuthRefused("535 5.7.139")) },
  { pattern: /^5\d\d[ -]5\.7\.30\b/, outcome: advised(basicAuthRefused("550 5.7.30")) },
  // The generic refusal: its meaning depends on what was presented, and on whether that password worked before.
  { pattern: /^535[ -]5\.7\.3\b/, login: "password", outcome: advised(passwordRefused) },
  { pattern: /^535[ -]5\.7\.3\b/, login: "oauth2", outcome: advised(tokenRefused) },
  // The tenant rejects anonymous mail from its own domains (Set-OrganizationConfig -RejectDirectSend $true).
  { pattern: /^550[ -]5\.7\.68\b/, outcome: advised(directSendRejected) },
  { pattern: /^4\d\d\b/, outcome: transient },
  { pattern: /^5\d\d\b/, outcome: permanent },
];

// Connection failures that happen before anything of the message was sent: the retry cannot duplicate it.
const neverConnectedCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "EDNS"]);

const transientNetworkCodes = new Set([
  "ECONNECTION",
  "ECONNRESET",
  "ECONNREFUSED",
  "ETIMEDOUT",
  "ESOCKET",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "EDNS",
  "EPROTOCOL",
]);

/** The parts of a nodemailer error we classify on. */
export interface SmtpFailure {
  responseCode?: number;
  response?: string;
  code?: string;
  message: string;
}

/** Classifies a final SMTP reply (`"250 2.0.0 OK"`, `"550 5.7.60 …"`) into what happens next. */
export function classifySmtpReply(reply: string, context?: SmtpContext): SendOutcome | undefined {
  const trimmed = reply.trim();
  const responseCode = Number(/^(\d{3})\b/.exec(trimmed)?.[1]);
  if (!responseCode) return undefined;
  if (responseCode >= 200 && responseCode < 300) return { kind: "sent", response: trimmed };
  const rule = rules.find(
    (r) => r.pattern.test(trimmed) && (r.login === undefined || r.login === context?.login),
  );
  return rule?.outcome(enhancedCode(responseCode, trimmed), trimmed, context);
}

/** Classifies an SMTP reply (or a connection failure) into what happens next. */
export function classifySmtpFailure(failure: SmtpFailure, context?: SmtpContext): SendOutcome {
  const reply = failure.response?.trim();
  if (failure.responseCode && reply) {
    const outcome = classifySmtpReply(reply, context);
    if (outcome) return outcome;
  }
  // No reply: the connection went away, possibly after the final "." reached the server (RFC 5321 §4.1.1.4:
  // the message is the server's once it has it, whether or not its 250 arrives). Unless it never connected,
  // the retry may deliver it twice.
  const ambiguous = !(failure.code && neverConnectedCodes.has(failure.code));
  if (failure.code && transientNetworkCodes.has(failure.code)) {
    return { kind: "transient", code: failure.code, text: failure.message, ambiguous };
  }
  // An answer we cannot place: retry through the queue; the retry budget bounds it.
  return { kind: "transient", code: failure.code, text: failure.message, ambiguous };
}

/**
 * Exchange Online refuses a submission whose Message-ID the sending mailbox already holds with
 * `554 5.2.0 STOREDRV.Submission.Exception:StoragePermanentException.MapiExceptionDuplicateDelivery`
 * (reported by callers that reused a Message-ID, e.g. https://github.com/eventum/eventum/issues/415; not in
 * Microsoft's documentation). For a message of ours whose earlier attempt got no answer, that means the
 * earlier attempt was delivered.
 */
export function isDuplicateDelivery(text: string): boolean {
  return /MapiExceptionDuplicateDelivery/i.test(text);
}

/** True for the replies that say a password login will not work again (the answers `doctor` reports too). */
export function isBasicAuthRefusal(outcome: SendOutcome): boolean {
  return (
    outcome.kind === "permanent" && /^(535 5\.7\.139|5\d\d 5\.7\.30|535 5\.7\.3)$/.test(outcome.code ?? "")
  );
}

function enhancedCode(responseCode: number, reply: string): string {
  const enhanced = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})\b/.exec(reply)?.[1];
  return enhanced ? `${responseCode} ${enhanced}` : String(responseCode);
}
