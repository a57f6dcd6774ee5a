/**
 * Why a provider throttled a send; pacing reacts to each differently: `rate` and `concurrency` pause the
 * mailbox for the time given, `quota` means the provider counts the mailbox's rolling 24 h recipients as
 * full (more was sent than we recorded), so pacing waits for its own oldest recipients to age out;
 * `tenantExternal` means the whole tenant is over its external recipients (550 5.7.233): external sending
 * pauses for every mailbox of the tenant, and the mailbox itself goes on with internal mail.
 */
export type ThrottleCause = "rate" | "concurrency" | "quota" | "tenantExternal";

export type ThrottledOutcome = {
  kind: "throttled";
  retryAfterMs: number;
  cause: ThrottleCause;
  code?: string;
  text: string;
};
export type TransientOutcome = { kind: "transient"; code?: string; text: string; ambiguous?: boolean };
/** `reason`, when given, is what the status record says instead of `text`: what happened and what to do. */
export type PermanentOutcome = { kind: "permanent"; code?: string; text: string; reason?: string };

/** An answer that did not deliver, named by what happens next. */
export type FailedOutcome = ThrottledOutcome | TransientOutcome | PermanentOutcome;

/** A recipient the provider refused (SMTP RCPT) while others took the message, and what the refusal means. */
export interface RefusedRecipient {
  address: string;
  outcome: FailedOutcome;
}

/**
 * Every provider answer, named by what happens next: sent (final), throttled (reschedule, not a failure),
 * transient (retry via the queue), permanent (final failure), or partial: the message went to some
 * recipients and each refused one is to be retried, rescheduled or reported as its own outcome says.
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
  | FailedOutcome
  | { kind: "partial"; providerMessageId?: string; response?: string; refused: RefusedRecipient[] };
