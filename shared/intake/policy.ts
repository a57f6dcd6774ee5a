import type { Config } from "../config.js";
import { domainOf, type Mailbox, sameAddress, senderAllowed } from "../domain/address.js";
import { type Client, internalOnlyTransports } from "../domain/client.js";
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
  // Direct Send, relay and High Volume Email send only as the tenant's own domains.
  const accepted = new Set(config.tenant.acceptedDomains ?? []);
  if (
    (client.transport === "direct" || client.transport === "relay" || client.transport === "hve") &&
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

/** The recipient rules: how many, which domains, and only the tenant's own on Direct Send and HVE. */
export function checkRecipients(recipients: Mailbox[], client: Client, config: Config, field: string): void {
  if (recipients.length === 0) throw invalidField(field, "at least one recipient is required");
  const hve = client.transport === "hve";
  const max = recipientLimit(client, config);
  if (recipients.length > max) {
    const where = hve ? " on the hve transport (HVE_RECIPIENTS_PER_MESSAGE)" : "";
    throw invalidField(
      field,
      `${recipients.length} recipients in to, cc and bcc; at most ${max} per message${where}`,
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
  if (internalOnlyTransports.has(client.transport)) {
    // Direct Send and High Volume Email deliver to the tenant's own recipients only; Exchange would refuse an
    // external one after our 202.
    const accepted = new Set(config.tenant.acceptedDomains ?? []);
    const external = recipients.find((r) => !accepted.has(domainOf(r.address)));
    if (external) {
      const what = client.transport === "hve" ? "High Volume Email" : "Direct Send";
      throw invalidField(field, `${external.address} is external; ${what} reaches only the accepted domains`);
    }
  }
}

/** Recipients one message of this client may have: High Volume Email has its own, lower limit. */
export function recipientLimit(client: Client, config: Config): number {
  return client.transport === "hve"
    ? Math.min(config.limits.recipientsPerMessage, config.hve.recipientsPerMessage)
    : config.limits.recipientsPerMessage;
}

/** The largest message a client's transport takes, and the setting that raises it. */
function messageLimit(client: Client, config: Config): { bytes: number; setting: string } {
  // High Volume Email's own size limit applies when it is the smaller one.
  if (client.transport === "hve" && config.hve.messageBytes < config.limits.messageBytes)
    return { bytes: config.hve.messageBytes, setting: "HVE_MAX_MESSAGE_BYTES" };
  return { bytes: config.limits.messageBytes, setting: "MAX_MESSAGE_BYTES" };
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
  const limit = messageLimit(client, config);
  if (size > limit.bytes) throw messageTooLarge(limit.bytes, limit.setting);
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
  // The body limit (from MAX_MESSAGE_BYTES) held while the bytes streamed in. High Volume Email's own limit is
  // checked here against the MIME's size, as Exchange counts a message (encoded, headers included).
  if (client.transport === "hve" && message.size > config.hve.messageBytes)
    throw messageTooLarge(config.hve.messageBytes, "HVE_MAX_MESSAGE_BYTES");
}
