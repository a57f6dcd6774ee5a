/**
 * What a failure means and what to do, in words, from the provider's code and text that the status record
 * keeps (mailhook's reason already says what happened; this says how to fix it). Sources: Microsoft Learn,
 * "Fix issues with printers, scanners, and LOB applications that send email using Microsoft 365"
 * (https://learn.microsoft.com/exchange/mail-flow-best-practices/fix-issues-with-printers-scanners-and-lob-applications-that-send-email-using-off),
 * "Microsoft Graph error responses" (https://learn.microsoft.com/graph/errors) and Exchange Online's
 * NDR reference (https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online).
 */
export interface FailureFacts {
  code?: string;
  text?: string;
  reason?: string;
}

interface Advice {
  when: RegExp;
  say: string;
}

// First match wins; matched against "code text reason".
const advice: Advice[] = [
  {
    when: /Mail\.ReadWrite/,
    say:
      "Grant the app registration the Mail.ReadWrite application permission (admin consent) for this " +
      "mailbox: messages over Graph's 4 MB request limit go through a draft and upload sessions. Then press Retry.",
  },
  {
    when: /ErrorAccessDenied|Mail\.Send permission/,
    say:
      "Grant the app registration the Mail.Send application permission (admin consent), or add this mailbox " +
      "to its RBAC for Applications scope. mailhook asks for a new token on the retry, so press Retry once granted.",
  },
  {
    when: /ErrorSendAsDenied|5\.7\.60/,
    say: "The app or mailbox may not send as this address: use an address it owns, or grant Send As.",
  },
  {
    when: /ErrorInvalidUser|ErrorItemNotFound/,
    say: "The sending mailbox does not exist in the tenant: check the sender address and the client's senders.",
  },
  {
    when: /5\.7\.139/,
    say:
      "SMTP AUTH is disabled for this mailbox or the whole tenant: enable it (Set-CASMailbox " +
      "-SmtpClientAuthenticationDisabled $false), or use the graph transport.",
  },
  {
    when: /5\.7\.30/,
    say: "Exchange no longer takes basic authentication for SMTP AUTH here: set SMTP_AUTH to oauth2.",
  },
  {
    when: /535\b|5\.7\.3\b|5\.7\.57/,
    say:
      "The mailbox's login was refused: check its password, or with OAuth that the app has SMTP.SendAsApp and " +
      "its service principal is registered in Exchange with permission on the mailbox. Then press Retry.",
  },
  {
    when: /5\.7\.68|TenantInboundAttribution/,
    say: "The tenant rejects Direct Send (RejectDirectSend): send through a connector (relay) or SMTP AUTH instead.",
  },
  {
    when: /5\.7\.233/,
    say: "The tenant's external recipient limit for 24 hours is reached: wait, or send through High Volume Email.",
  },
  {
    when: /5\.2\.0|SubmissionQuotaExceeded|5\.1\.8/,
    say: "The mailbox is over its daily recipient limit (10,000 in 24 hours): wait for it to age out, then Retry.",
  },
  {
    when: /gave up after/,
    say: "Every attempt failed for a passing reason (network, timeouts, service busy): check connectivity, then Retry.",
  },
];

/** Advice for a failed message, or undefined when mailhook's own reason is all there is to say. */
export function explain(facts: FailureFacts): string | undefined {
  const subject = [facts.code, facts.text, facts.reason].filter(Boolean).join(" ");
  return advice.find((a) => a.when.test(subject))?.say;
}
