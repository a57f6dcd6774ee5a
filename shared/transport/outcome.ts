/**
 * Why a provider throttled a send; pacing reacts to each differently: `rate` and `concurrency` pause the
 * mailbox for the time given, `quota` means the provider counts the mailbox's rolling 24 h recipients as
 * full (more was sent than we recorded), so pacing waits for its own oldest recipients to age out.
 */
export type ThrottleCause = "rate" | "concurrency" | "quota";

/**
 * Every provider answer in four kinds, named by what happens next:
 * sent (final), throttled (reschedule, not a failure), transient (retry via the queue), permanent (final failure).
 */
export type SendOutcome =
  | {
      kind: "sent";
      providerMessageId?: string;
      response?: string;
      /** Something the caller should know about how it went (kept in the status timeline). */
      note?: string;
    }
  | { kind: "throttled"; retryAfterMs: number; cause: ThrottleCause; code?: string; text: string }
  | { kind: "transient"; code?: string; text: string }
  | { kind: "permanent"; code?: string; text: string };
