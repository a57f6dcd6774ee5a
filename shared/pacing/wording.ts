import type { PacingPolicy } from "./limits.js";
import type { PacingDecision, WaitReason } from "./window.js";

/** The `reason` a deferred status shows. */
export function describeWait(
  decision: Extract<PacingDecision, { kind: "wait" }>,
  policy: PacingPolicy,
  recipients: number,
): string {
  const at = new Date(decision.until).toISOString();
  const { limits } = policy;
  const texts: Record<WaitReason, string> = {
    messages: `the mailbox is at its limit of ${limits.messagesPerWindow} messages per ${limits.messageWindowMs / 1000} s; next slot at ${at}`,
    recipients: `the mailbox is at its limit of ${limits.recipientsPerWindow} recipients per 24 h and this message has ${recipients}; enough of the window frees at ${at}`,
    concurrency: `${limits.concurrency} sends are already in flight for this mailbox; next try at ${at}`,
    paused: `the mailbox is paused (${decision.pauseReason ?? "throttled by the provider"}); planned for ${at}`,
    backlog: `waiting behind earlier messages from this mailbox; planned for ${at}`,
    early: `planned for ${at}`,
  };
  return texts[decision.reason];
}

/** The `reason` a message deferred by a provider's throttling answer shows. */
export function describeThrottle(
  outcome: { cause: "rate" | "concurrency" | "quota"; code?: string; text: string },
  plannedAt: string,
): string {
  const why =
    outcome.cause === "quota" ? "the mailbox is over its daily recipient quota" : "throttled by the provider";
  return `${why} (${outcome.code ?? "no code"}): ${outcome.text}; paused until ${plannedAt}`;
}
