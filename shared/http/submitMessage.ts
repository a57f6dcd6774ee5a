import { checkIn, usesBlobs } from "../intake/claimCheck.js";
import { bodyTooLarge } from "../intake/limits.js";
import { enforcePolicy } from "../intake/policy.js";
import { bodyLimitBytes, readMessage } from "../intake/readMessage.js";
import { encodeEnvelope } from "../queue/envelope.js";
import { type StatusRecord, transition } from "../status/record.js";
import { type Handler, jsonResponse, type Route } from "./api.js";

/** `POST /api/v1/messages`: authenticate, validate, store what is large, record, enqueue; answer 202. */
const submitMessage: Handler = async (request, services, log) => {
  const { config, clients, messages, statuses, queue, clock } = services;
  const client = clients.authenticate(request.headers);
  const limit = bodyLimitBytes(config);
  // Refuse a declared oversize body before reading a byte of it.
  if (Number(request.headers.get("content-length") ?? 0) > limit) throw bodyTooLarge(limit);

  const id = services.newId();
  let recorded = false;
  let accepted = false;
  try {
    const contentType = request.headers.get("content-type") ?? "";
    const { message, inlineBytes } = await readMessage(
      request.body,
      contentType,
      id,
      client,
      config,
      messages,
    );
    const now = clock.now();
    enforcePolicy(message, client, config, now);
    const envelope = await checkIn(message, inlineBytes, messages);
    const delayMs = message.sendAt ? Math.max(0, Date.parse(message.sendAt) - now.getTime()) : 0;
    const status = delayMs > 0 ? "scheduled" : "queued";
    const record: StatusRecord = {
      v: 1,
      id,
      clientId: client.id,
      status,
      transport: client.transport,
      mailbox: envelope.mailbox,
      recipients: envelope.recipients,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      attempts: 0,
      sendAt: message.sendAt,
      ...(status === "scheduled" ? { nextAttemptAt: message.sendAt, reason: "waiting for sendAt" } : {}),
      metadata: message.metadata,
      hasBlobs: usesBlobs(envelope),
      timeline: [{ at: now.toISOString(), status }],
    };
    await statuses.create(record);
    recorded = true;
    await queue.send(encodeEnvelope(envelope), { delayMs });
    accepted = true;
    log.info("message accepted", {
      messageId: id,
      clientId: client.id,
      transport: client.transport,
      recipients: envelope.recipients,
      attachments: message.attachments.length,
      claimCheck: envelope.messageBlob !== undefined,
    });
    const location = new URL(`/api/v1/messages/${id}`, request.url).toString();
    return jsonResponse(202, { id, status, location }, { Location: location });
  } finally {
    // Nothing half-stored: a refused request leaves no blobs, and a record already written says it failed.
    if (!accepted) {
      await messages.deleteMessage(id);
      if (recorded) {
        const reason = "not accepted: the queue could not take it";
        await statuses.update(client.id, id, (r) =>
          transition(r, "failed", clock.now(), { reason, hasBlobs: false }),
        );
      }
    }
  }
};

export const submitMessageRoute: Route = {
  name: "submitMessage",
  methods: ["POST"],
  route: "v1/messages",
  handler: submitMessage,
};
