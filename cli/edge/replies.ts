import type { ApiAnswer, Problem } from "./apiClient.js";

/**
 * An SMTP reply: the basic code and the text after it, which starts with the enhanced status code
 * (RFC 3463, https://www.rfc-editor.org/rfc/rfc3463) so a device's log says what to fix.
 */
export interface SmtpReply {
  code: number;
  text: string;
}

// RFC 5321 4.5.3.1.5: a reply line is at most 512 octets, code and CRLF included.
const maxDetailLength = 400;

/** Printable ASCII on one line: the text of a reply goes to a device as is. */
export function replyDetail(text: string | undefined): string {
  const clean = (text ?? "").replace(/[^\x20-\x7e]+/g, " ").trim();
  return clean.length > maxDetailLength ? `${clean.slice(0, maxDetailLength - 3)}...` : clean;
}

const structuralFields = new Set(["body", "From", "Sender", "Message-ID", "Date"]);

/** The field a problem names: its `field` extension, or the first of its `errors`. */
function fieldOf(problem: Problem): string | undefined {
  return problem.field ?? problem.errors?.[0]?.field;
}

/**
 * What the device hears about the message it sent. `250` only once the API answered 202 (a 250 is a
 * promise: the device forgets the message); no answer, a 5xx or a 429 is a `451` the device retries; a
 * refusal is the permanent reply that matches it, with the API's detail.
 */
export function dataReply(answer: ApiAnswer<{ id: string }>): SmtpReply {
  switch (answer.kind) {
    case "ok":
      return { code: 250, text: `2.0.0 Queued as ${answer.value.id}` };
    case "unavailable":
      return {
        code: 451,
        text: `4.4.1 mailhook API not reachable (${replyDetail(answer.reason)}); try again later`,
      };
    case "refused":
      return refusal(answer.status, answer.problem);
  }
}

function refusal(status: number, problem: Problem): SmtpReply {
  const detail = replyDetail(problem.detail) || `the API refused the message (${status})`;
  switch (status) {
    case 401:
      return authFailed();
    case 403:
      return { code: 550, text: `5.7.1 ${detail}` };
    case 413:
      return { code: 552, text: `5.3.4 ${detail}` };
    case 400:
    case 415:
      return { code: 554, text: `5.6.0 ${detail}` };
    case 422: {
      const field = fieldOf(problem);
      return field && structuralFields.has(field)
        ? { code: 554, text: `5.6.0 ${detail}` }
        : { code: 550, text: `5.7.1 ${detail}` };
    }
    default:
      return { code: 554, text: `5.3.0 ${detail}` };
  }
}

/** A wrong key, whatever else is true (too many tries, a key revoked since AUTH): always 535 5.7.8. */
export function authFailed(retryInSeconds?: number): SmtpReply {
  const wait = retryInSeconds
    ? ` (too many failures from this address; next try in ${retryInSeconds} s)`
    : "";
  return { code: 535, text: `5.7.8 Authentication credentials invalid${wait}` };
}

/** AUTH while the API cannot be asked: RFC 4954 section 6, "454 4.7.0 Temporary authentication failure". */
export function authUnavailable(reason: string): SmtpReply {
  return { code: 454, text: `4.7.0 Temporary authentication failure: ${replyDetail(reason)}` };
}

/** The answer to MAIL FROM when the API's verdict cannot be had: the device tries again later. */
export function senderUnavailable(reason: string): SmtpReply {
  return { code: 451, text: `4.4.1 mailhook API not reachable (${replyDetail(reason)}); try again later` };
}
