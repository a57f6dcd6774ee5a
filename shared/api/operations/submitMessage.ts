import { z } from "zod";
import { submitMessage } from "../../app/submitMessage.js";
import { jsonMessageSchema, messageFieldsSchema } from "../../domain/message.js";
import { invalidField } from "../../domain/problem.js";
import { messageTooLarge } from "../../intake/body.js";
import { bodyLimits } from "../../intake/readMessage.js";
import { type Handler, jsonResponse, type Route } from "../http.js";

/** `POST /api/v1/messages`: the message use case behind HTTP; answers 202 with the status URL. */
const handler: Handler = async (request, { services, log, client }) => {
  const limits = bodyLimits(services.config);
  // Refuse a declared oversize body before reading a byte of it.
  if (Number(request.headers.get("content-length") ?? 0) > limits.bodyBytes)
    throw messageTooLarge(limits.messageBytes);
  const accepted = await submitMessage(
    {
      client,
      contentType: request.headers.get("content-type") ?? "",
      body: request.body,
      idempotencyKey: idempotencyKeyFrom(request.headers),
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
  access: "key",
  handler,
  doc: {
    operationId: "SendEmail",
    summary: "Send an email",
    description:
      "Accepts a message for sending through Microsoft 365 and answers 202 with its id; poll Location for its status.",
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
