import type { Config } from "../config.js";
import { domainOf, senderAllowed } from "../domain/address.js";
import type { Client } from "../domain/client.js";
import { recipientsOf, type StoredMessage } from "../domain/message.js";
import { invalidField, ProblemError } from "../domain/problem.js";
import { urlProblem } from "../webhooks/destination.js";
import { messageTooLarge } from "./body.js";

/**
 * Microsoft Graph takes only `x-` names in internetMessageHeaders
 * (https://learn.microsoft.com/graph/api/user-sendmail#example-2-create-a-message-with-custom-internet-message-headers-and-send-the-message);
 * about 5 per message is what users report, not a documented number, so the check errs low.
 */
export const graphMaxInternetMessageHeaders = 5;

// Scheduled sends are kept at most this far ahead.
export const maxScheduleAheadMs = 30 * 24 * 3600 * 1000;

/**
 * What a client may send: only as its own senders (no open relay), within the recipient and size limits,
 * and only to recipients its transport can reach. Throws the problem a caller should see.
 */
export function enforcePolicy(message: StoredMessage, client: Client, config: Config, now: Date): void {
  if (!senderAllowed(client.senders, message.from.address)) {
    throw new ProblemError(
      "forbiddenSender",
      `Client ${client.id} may not send as ${message.from.address}.`,
      {
        extensions: { field: "from" },
      },
    );
  }
  const recipients = recipientsOf(message);
  const max = config.limits.recipientsPerMessage;
  if (recipients.length > max) {
    throw invalidField("to", `${recipients.length} recipients in to, cc and bcc; at most ${max} per message`);
  }
  if (client.recipientDomains) {
    const allowed = new Set(client.recipientDomains);
    const outside = recipients.find((r) => !allowed.has(domainOf(r.address)));
    if (outside) {
      throw invalidField("to", `${outside.address} is outside the recipient domains allowed for this client`);
    }
  }
  const headerCount = Object.keys(message.headers).length;
  if (client.transport === "graph" && headerCount > graphMaxInternetMessageHeaders) {
    // Graph's internetMessageHeaders takes only a few x- headers; it would refuse the message after our 202.
    throw invalidField(
      "headers",
      `${headerCount} custom headers; the graph transport sends at most ${graphMaxInternetMessageHeaders}`,
    );
  }
  const accepted = new Set(config.mx?.acceptedDomains ?? []);
  if (client.transport === "direct") {
    // Direct Send delivers to the tenant's own mailboxes only; Exchange rejects external recipients later.
    const external = recipients.find((r) => !accepted.has(domainOf(r.address)));
    if (external) {
      throw invalidField(
        "to",
        `${external.address} is external; Direct Send reaches only the accepted domains`,
      );
    }
  }
  if (
    (client.transport === "direct" || client.transport === "relay") &&
    !accepted.has(domainOf(message.from.address))
  ) {
    throw invalidField("from", `${message.from.address} is not in an accepted domain of the tenant`);
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
