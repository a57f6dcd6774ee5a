/**
 * Why a provider throttled a send; pacing reacts to each differently: `rate` and `concurrency` pause the
 * mailbox for the time given, `quota` means the provider counts the mailbox's rolling 24 h recipients as
 * full (more was sent than we recorded), so pacing waits for its own oldest recipients to age out.
 */
export type ThrottleCause = "rate" | "concurrency" | "quota";

/**
 * Every provider answer in four kinds, named by what happens next:
 * sent (final), throttled (reschedule, not a failure), transient (retry via the queue), permanent (final failure).
 *
 * `sent.reconciled`: an earlier attempt had sent it, as the provider said when asked (no new send).
 * `transient.ambiguous`: no answer came after the provider may have accepted the message, and nothing can
 * ask it afterwards (Graph sendMail, SMTP DATA): the retry may deliver it a second time.
 */
export type SendOutcome =
  | {
      kind: "sent";
      providerMessageId?: string;
      response?: string;
      /** Something the caller should know about how it went (kept in the status timeline). */
      note?: string;
      reconciled?: boolean;
    }
  | { kind: "throttled"; retryAfterMs: number; cause: ThrottleCause; code?: string; text: string }
  | { kind: "transient"; code?: string; text: string; ambiguous?: boolean }
  | { kind: "permanent"; code?: string; text: string };
