import { z } from "zod";
import { submitMessage } from "../../app/submitMessage.js";
import { jsonMessageSchema, messageFieldsSchema } from "../../domain/message.js";
import { invalidField } from "../../domain/problem.js";
import { messageTooLarge } from "../../intake/body.js";
import { bodyLimits } from "../../intake/readMessage.js";
import { envelopeFromField, envelopeToField, smtpEnvelopeFrom } from "../../intake/smtpEnvelope.js";
import { type Handler, jsonResponse, type Route } from "../http.js";

/** `POST /api/v1/messages`: the message use case behind HTTP; answers 202 with the status URL. */
const handler: Handler = async (request, { services, log, client }) => {
  const limits = bodyLimits(services.config);
  // Refuse a declared oversize body before reading a byte of it.
  if (Number(request.headers.get("content-length") ?? 0) > limits.bodyBytes)
    throw messageTooLarge(limits.messageBytes);
  const idempotencyKey = idempotencyKeyFrom(request.headers);
  const deriveIdempotencyKey = deriveKeyFrom(request.headers);
  if (idempotencyKey && deriveIdempotencyKey) {
    throw invalidField(deriveHeader, "give either Idempotency-Key or this header, not both");
  }
  const accepted = await submitMessage(
    {
      client,
      contentType: request.headers.get("content-type") ?? "",
      body: request.body,
      idempotencyKey,
      envelope: smtpEnvelopeFrom(request.headers),
      deriveIdempotencyKey,
    },
    services,
    log,
  );
  const location = new URL(`/api/v1/messages/${accepted.id}`, request.url).toString();
  return jsonResponse(
    202,
    { id: accepted.id, status: accepted.status, location },
    { Location: location, ...(accepted.replayed ? { "Idempotent-Replayed": "true" } : {}) },
  );
};

/** The `Idempotency-Key` header, if any: 1–255 visible ASCII characters. */
function idempotencyKeyFrom(headers: Headers): string | undefined {
  const key = headers.get("idempotency-key");
  if (key === null) return undefined;
  if (!/^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$/.test(key)) {
    throw invalidField("Idempotency-Key", "must be 1 to 255 visible ASCII characters");
  }
  return key;
}

/** Asks the API to derive the Idempotency-Key from a MIME message (the SMTP edge's way: a header precedes the body). */
const deriveHeader = "Mailhook-Derive-Idempotency-Key";

function deriveKeyFrom(headers: Headers): boolean {
  const value = headers.get(deriveHeader);
  if (value === null) return false;
  if (value.trim().toLowerCase() !== "true") throw invalidField(deriveHeader, 'takes the value "true" only');
  return true;
}

/** The `202` body of `POST /api/v1/messages` (the same URL is in `Location`). */
const acceptedSchema = z.object({
  id: z.string(),
  status: z.enum(["queued", "scheduled"]),
  location: z.url(),
});

export const submitMessageRoute: Route = {
  name: "submitMessage",
  methods: ["POST"],
  route: "api/v1/messages",
  access: "key",
  handler,
  doc: {
    operationId: "SendEmail",
    summary: "Send an email",
    description:
      "Accepts a message for sending through Microsoft 365 and answers 202 with its id; poll Location for its status. " +
      "A message/rfc822 body is the sender's own MIME: it is sent as it is (a Message-ID and a Date added only when " +
      "missing, a Bcc header removed), its From header and envelope sender must both be senders the client may use.",
    requestHeaders: {
      "Idempotency-Key": {
        description:
          "Optional. A retry with the same key and the same message answers the original 202 and id (kept 24 h).",
        schema: z.string().min(1).max(255),
      },
      [envelopeFromField]: {
        description:
          "message/rfc822 only, optional: the envelope sender (SMTP MAIL FROM), a bare address; the From header's " +
          "address when absent. Either way it must be a sender the client may use.",
        schema: z.string().max(254),
        connector: false,
      },
      [envelopeToField]: {
        description:
          "message/rfc822 only, optional: the envelope recipients (SMTP RCPT TO), bare addresses separated by commas " +
          "(the header may repeat). They are the recipients: one that To and Cc do not name is a Bcc, delivered and " +
          "never shown. When absent, the To, Cc and Bcc headers are the recipients. A list of hundreds may pass the " +
          "host's limit on request headers (32 KB in all by Kestrel's default).",
        schema: z.string(),
        connector: false,
      },
      [deriveHeader]: {
        description:
          'message/rfc822 only, optional: "true" derives the Idempotency-Key from the message\'s own Message-ID, its ' +
          "envelope and the SHA-256 of its bytes, so resending the same message after a lost answer (an SMTP client " +
          "whose connection dropped) answers the same id; a message without a Message-ID gets no key. Not with " +
          "Idempotency-Key.",
        schema: z.literal("true"),
        connector: false,
      },
    },
    requestBody: {
      "application/json": jsonMessageSchema,
      "multipart/form-data": messageFieldsSchema,
      "message/rfc822": {
        description:
          "A MIME message (RFC 5322), streamed as it is; up to the message size limit in base64 plus 1 MiB. " +
          "Unreadable MIME answers 400.",
      },
    },
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
