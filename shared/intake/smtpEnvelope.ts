import { addressProblem, type Mailbox, normalizeAddress, trimSpaces } from "../domain/address.js";
import { invalidField } from "../domain/problem.js";

/** The request headers naming the SMTP envelope of a `message/rfc822` body (RFC 5321 MAIL FROM and RCPT TO). */
export const envelopeFromField = "Mailhook-Envelope-From";
export const envelopeToField = "Mailhook-Envelope-To";

/** The SMTP envelope a `message/rfc822` request names apart from its headers; either part may be absent. */
export interface SmtpEnvelope {
  from?: Mailbox;
  recipients?: Mailbox[];
}

/**
 * Reads `Mailhook-Envelope-From: a@x` and `Mailhook-Envelope-To: b@y, c@z` (the header may repeat; fetch
 * joins repeats with ", "). Bare addresses only, as SMTP's MAIL FROM and RCPT TO carry them (RFC 5321
 * 4.1.2); duplicates count once. A malformed list is a 422 naming the header.
 */
export function smtpEnvelopeFrom(headers: Headers): SmtpEnvelope {
  const from = headers.get(envelopeFromField);
  const to = headers.get(envelopeToField);
  const envelope: SmtpEnvelope = {};
  if (from !== null) envelope.from = { address: checked(trimSpaces(from), envelopeFromField) };
  if (to !== null) {
    const seen = new Set<string>();
    envelope.recipients = [];
    for (const part of to.split(",").map(trimSpaces)) {
      if (part === "") continue;
      const address = checked(part, envelopeToField);
      if (seen.has(address.toLowerCase())) continue;
      seen.add(address.toLowerCase());
      envelope.recipients.push({ address });
    }
    if (envelope.recipients.length === 0) throw invalidField(envelopeToField, "names no recipient");
  }
  return envelope;
}

function checked(address: string, field: string): string {
  const bare = address.replace(/^<(.*)>$/, "$1");
  const problem = addressProblem(bare);
  if (problem) throw invalidField(field, `${JSON.stringify(address)} ${problem}`);
  return normalizeAddress(bare);
}
