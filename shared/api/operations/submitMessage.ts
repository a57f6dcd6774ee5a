import { z } from "zod";
import { checkIn, usesBlobs } from "../../intake/claimCheck.js";
import { type IdempotencyRecord, idempotencyKeyFrom, messageFingerprint } from "../../domain/idempotency.js";
import { bodyTooLarge } from "../../intake/body.js";
import { enforcePolicy } from "../../intake/policy.js";
import { bodyLimitBytes, readMessage } from "../../intake/readMessage.js";
import { jsonMessageSchema, messageFieldsSchema } from "../../domain/message.js";
import { ProblemError } from "../../domain/problem.js";
import { encodeEnvelope } from "../../domain/envelope.js";
import { type StatusRecord, transition } from "../../domain/statusRecord.js";
import { type Handler, jsonResponse, type Route } from "../http.js";

/** `POST /api/v1/messages`: authenticate, validate, store what is large, record, enqueue; answer 202. */
const submitMessage: Handler = async (request, services, log) => {
  const { config, clients, messages, statuses, queue, clock } = services;
  const client = clients.authenticate(request.headers);
  const limit = bodyLimitBytes(config);
  // Refuse a declared oversize body before reading a byte of it.
  if (Number(request.headers.get("content-length") ?? 0) > limit) throw bodyTooLarge(limit);

  const idempotencyKey = idempotencyKeyFrom(request.headers);
  const id = services.newId();
  const locationOf = (messageId: string) => new URL(`/api/v1/messages/${messageId}`, request.url).toString();
  let claimed = false;
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
    if (idempotencyKey) {
      const fingerprint = messageFingerprint(message);
      const holder = await services.idempotency.claim(
        client.id,
        idempotencyKey,
        { v: 1, messageId: id, fingerprint, createdAt: now.toISOString() },
        now,
      );
      if (holder.messageId !== id) return await replay(holder, fingerprint);
      claimed = true;
    }
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
      callbackUrl: message.callbackUrl,
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
    return jsonResponse(202, { id, status, location: locationOf(id) }, { Location: locationOf(id) });
  } finally {
    // Nothing half-stored: a refused request leaves no blobs, and a record already written says it failed.
    if (!accepted) {
      await messages.deleteMessage(id);
      if (claimed && idempotencyKey) await services.idempotency.release(client.id, idempotencyKey, id);
      if (recorded) {
        const reason = "not accepted: the queue could not take it";
        await statuses.update(client.id, id, (r) =>
          transition(r, "failed", clock.now(), { reason, hasBlobs: false }),
        );
      }
    }
  }

  /** The same key again: the original answer for the same message, 409 for a different one. */
  async function replay(holder: IdempotencyRecord, fingerprint: string) {
    if (holder.fingerprint !== fingerprint) {
      throw new ProblemError(
        "conflict",
        `Idempotency-Key was already used for a different message (${holder.messageId}); use a new key for a new message.`,
        { extensions: { field: "Idempotency-Key", messageId: holder.messageId } },
      );
    }
    // The first request may still be storing its record; it answered "queued" or "scheduled" then.
    const status = (await statuses.get(client.id, holder.messageId))?.status ?? "queued";
    const location = locationOf(holder.messageId);
    return jsonResponse(
      202,
      { id: holder.messageId, status, location },
      { Location: location, "Idempotent-Replayed": "true" },
    );
  }
};

/** The `202` body of `POST /api/v1/messages` (the same URL is in `Location`). */
const acceptedSchema = z.object({
  id: z.string(),
  status: z.enum(["queued", "scheduled"]),
  location: z.url(),
});

export const submitMessageRoute: Route = {
  name: "submitMessage",
  methods: ["POST"],
  route: "v1/messages",
  handler: submitMessage,
  doc: {
    operationId: "SendEmail",
    summary: "Send an email",
    description:
      "Accepts a message for sending through Microsoft 365 and answers 202 with its id; poll Location for its status.",
    requiresKey: true,
    requestHeaders: {
      "Idempotency-Key": {
        description:
          "Optional. A retry with the same key and the same message answers the original 202 and id (kept 24 h).",
        schema: z.string().min(1).max(255),
      },
    },
    requestBody: { "application/json": jsonMessageSchema, "multipart/form-data": messageFieldsSchema },
    responses: {
      202: {
        description: "Accepted: queued, or scheduled for sendAt.",
        schema: acceptedSchema,
        headers: { Location: "The message's status URL." },
      },
    },
    problems: [
      "badRequest",
      "forbiddenSender",
      "conflict",
      "tooLarge",
      "unsupportedMediaType",
      "validation",
      "rateLimited",
    ],
  },
};
