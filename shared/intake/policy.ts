import type { Config } from "../config.js";
import { domainOf, type Mailbox, sameAddress, senderAllowed } from "../domain/address.js";
import type { Client } from "../domain/client.js";
import { recipientsOf, type StoredMessage, type StoredMimeMessage } from "../domain/message.js";
import { invalidField, ProblemError } from "../domain/problem.js";
import { urlProblem } from "../webhooks/destination.js";
import { messageTooLarge } from "./body.js";
import { envelopeFromField, envelopeToField } from "./smtpEnvelope.js";

/**
 * Microsoft Graph takes only `x-` names in internetMessageHeaders
 * (https://learn.microsoft.com/graph/api/user-sendmail#example-2-create-a-message-with-custom-internet-message-headers-and-send-the-message);
 * about 5 per message is what users report, not a documented number, so the check errs low.
 */
export const graphMaxInternetMessageHeaders = 5;

// Scheduled sends are kept at most this far ahead.
export const maxScheduleAheadMs = 30 * 24 * 3600 * 1000;

/** Addresses inside a display name ("ceo@contoso.com" <scanner@contoso.com>): what a recipient would take as the sender. */
const addressLike = /[^\s<>()"',;:@]+@[^\s<>()"',;:@]+\.[^\s<>()"',;:@]+/g;

/** Why `client` may not send as `sender`, or undefined when it may: the one sender rule of every intake path. */
export function senderProblem(
  sender: Mailbox,
  client: Client,
  config: Config,
): { kind: "forbiddenSender" | "validation"; text: string } | undefined {
  if (!senderAllowed(client.senders, sender.address)) {
    return { kind: "forbiddenSender", text: `client ${client.id} may not send as ${sender.address}` };
  }
  // A display name must not show another address: recipients (and Graph, which answers ErrorSendAsDenied)
  // would take it for the sender.
  const smuggled = (sender.name?.match(addressLike) ?? []).find((a) => !sameAddress(a, sender.address));
  if (smuggled) {
    return {
      kind: "forbiddenSender",
      text: `the display name ${JSON.stringify(sender.name)} names ${smuggled}, another address than the sender ${sender.address}`,
    };
  }
  const accepted = new Set(config.mx?.acceptedDomains ?? []);
  if (
    (client.transport === "direct" || client.transport === "relay") &&
    !accepted.has(domainOf(sender.address))
  ) {
    return { kind: "validation", text: `${sender.address} is not in an accepted domain of the tenant` };
  }
  return undefined;
}

/** Throws the problem `senderProblem` finds, naming `field` (`from`, the From header, the envelope sender). */
export function checkSender(sender: Mailbox, client: Client, config: Config, field: string): void {
  const problem = senderProblem(sender, client, config);
  if (!problem) return;
  if (problem.kind === "validation") throw invalidField(field, problem.text);
  throw new ProblemError("forbiddenSender", `${field}: ${problem.text}.`, { extensions: { field } });
}

/** The recipient rules: how many, which domains, and only the tenant's own on Direct Send. */
export function checkRecipients(recipients: Mailbox[], client: Client, config: Config, field: string): void {
  if (recipients.length === 0) throw invalidField(field, "at least one recipient is required");
  const max = config.limits.recipientsPerMessage;
  if (recipients.length > max) {
    throw invalidField(
      field,
      `${recipients.length} recipients in to, cc and bcc; at most ${max} per message`,
    );
  }
  if (client.recipientDomains) {
    const allowed = new Set(client.recipientDomains);
    const outside = recipients.find((r) => !allowed.has(domainOf(r.address)));
    if (outside) {
      throw invalidField(
        field,
        `${outside.address} is outside the recipient domains allowed for this client`,
      );
    }
  }
  if (client.transport === "direct") {
    // Direct Send delivers to the tenant's own mailboxes only; Exchange rejects external recipients later.
    const accepted = new Set(config.mx?.acceptedDomains ?? []);
    const external = recipients.find((r) => !accepted.has(domainOf(r.address)));
    if (external) {
      throw invalidField(
        field,
        `${external.address} is external; Direct Send reaches only the accepted domains`,
      );
    }
  }
}

/**
 * What a client may send: only as its own senders (no open relay), within the recipient and size limits,
 * and only to recipients its transport can reach. Throws the problem a caller should see.
 */
export function enforcePolicy(message: StoredMessage, client: Client, config: Config, now: Date): void {
  checkSender(message.from, client, config, "from");
  checkRecipients(recipientsOf(message), client, config, "to");
  const headerCount = Object.keys(message.headers).length;
  if (client.transport === "graph" && headerCount > graphMaxInternetMessageHeaders) {
    // Graph's internetMessageHeaders takes only a few x- headers; it would refuse the message after our 202.
    throw invalidField(
      "headers",
      `${headerCount} custom headers; the graph transport sends at most ${graphMaxInternetMessageHeaders}`,
    );
  }
  const size =
    message.attachments.reduce((sum, a) => sum + a.size, 0) +
    Buffer.byteLength(message.text ?? "") +
    Buffer.byteLength(message.html ?? "");
  if (size > config.limits.messageBytes) {
    throw messageTooLarge(config.limits.messageBytes);
  }
  if (message.callbackUrl) {
    if (!client.callbackSecret) {
      throw invalidField("callbackUrl", "this client has no callbackSecret to sign delivery reports with");
    }
    const problem = urlProblem(message.callbackUrl, config.webhooks);
    if (problem) throw invalidField("callbackUrl", problem);
  }
  if (message.sendAt && Date.parse(message.sendAt) - now.getTime() > maxScheduleAheadMs) {
    throw invalidField("sendAt", "may be at most 30 days ahead");
  }
}

/**
 * The rules for a sender's own MIME: the envelope sender, the From header and a Sender header must each be
 * a sender the client may use, From names exactly one mailbox, and the envelope recipients follow the
 * recipient rules. (The size limit is the body limit, enforced while the bytes streamed in.)
 */
export function enforceMimePolicy(
  message: StoredMimeMessage,
  headers: { from: Mailbox[]; sender?: Mailbox },
  client: Client,
  config: Config,
): void {
  const [author, ...more] = headers.from;
  if (!author) throw invalidField("From", "the message has no From header with an address");
  if (more.length > 0) {
    throw invalidField("From", `names ${headers.from.length} addresses; a message sent here has one author`);
  }
  checkSender(author, client, config, "From");
  if (headers.sender) checkSender(headers.sender, client, config, "Sender");
  checkSender(message.from, client, config, envelopeFromField);
  checkRecipients(message.recipients, client, config, envelopeToField);
}
