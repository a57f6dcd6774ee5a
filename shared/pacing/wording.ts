import type { PacingPolicy } from "./limits.js";
import type { PacingDecision, WaitReason } from "./window.js";

/** The `reason` a deferred status shows. */
export function describeWait(
  decision: Extract<PacingDecision, { kind: "wait" }>,
  policy: PacingPolicy,
  recipients: number,
  uploadBytes = 0,
): string {
  const at = new Date(decision.until).toISOString();
  const { limits } = policy;
  const texts: Record<WaitReason, string> = {
    messages: `the mailbox is at its limit of ${limits.messagesPerWindow} messages per ${limits.messageWindowMs / 1000} s; next slot at ${at}`,
    recipients: `the mailbox is at its limit of ${limits.recipientsPerWindow} recipients per 24 h and this message has ${recipients}; enough of the window frees at ${at}`,
    uploads: `the mailbox is at Graph's upload limit of ${mb(limits.uploadBytesPerWindow ?? 0)} per ${limits.uploadWindowMs / 60_000} minutes and this message uploads ${mb(uploadBytes)}; enough of the window frees at ${at}`,
    concurrency: `${limits.concurrency} sends are already in flight for this mailbox; next try at ${at}`,
    paused: `the mailbox is paused (${decision.pauseReason ?? "throttled by the provider"}); planned for ${at}`,
    backlog: `waiting behind earlier messages from this mailbox; planned for ${at}`,
    early: `planned for ${at}`,
  };
  return texts[decision.reason];
}

const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;

/** The `reason` a message deferred by a provider's throttling answer shows. */
export function describeThrottle(
  outcome: { cause: "rate" | "concurrency" | "quota" | "tenantExternal"; code?: string; text: string },
  plannedAt: string,
): string {
  const why = {
    quota: "the mailbox is over its daily recipient quota",
    tenantExternal:
      "the tenant is over its external recipient limit for the last 24 hours, so messages with external " +
      "recipients wait (internal ones keep going)",
    rate: "throttled by the provider",
    concurrency: "throttled by the provider",
  }[outcome.cause];
  const next = outcome.cause === "tenantExternal" ? "next try at" : "paused until";
  return `${why} (${outcome.code ?? "no code"}): ${outcome.text}; ${next} ${plannedAt}`;
}

/** The `reason` a message held back by the tenant's external recipient limit shows. */
export function describeTenantWait(
  decision: { until: number; since: number; reason: string },
  externalRecipients: number,
): string {
  const since = new Date(decision.since).toISOString();
  const at = new Date(decision.until).toISOString();
  return (
    `the tenant is over its external recipient limit for the last 24 hours (since ${since}: ${decision.reason}); ` +
    `this message has ${externalRecipients} external recipient${externalRecipients === 1 ? "" : "s"} and waits, ` +
    `internal mail keeps going; next try at ${at}`
  );
}
