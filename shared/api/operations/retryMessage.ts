import { text } from "node:stream/consumers";
import { z } from "zod";
import { deadLetterPath } from "../../app/dispatchMessage.js";
import { ProblemError } from "../../domain/problem.js";
import { decodeEnvelope, encodeEnvelope } from "../../domain/envelope.js";
import { publicStatusSchema, publicView, type StatusRecord, transition } from "../../domain/statusRecord.js";
import { type Handler, jsonResponse, type Route } from "../http.js";
import { isMessageId, messageNotFound } from "../messageIds.js";

/**
 * `POST /api/v1/messages/{id}/retry`: sends a failed message again from its dead letter (kept for
 * FAILED_MESSAGE_RETENTION_DAYS). The move from `failed` to `queued` is conditional, so two retries at once
 * enqueue it once.
 */
const retryMessage: Handler = async (request, services, log) => {
  const client = services.clients.authenticate(request.headers);
  const id = request.params.id ?? "";
  const current = isMessageId(id) ? await services.statuses.get(client.id, id) : undefined;
  if (!current) throw messageNotFound(id);
  if (current.status !== "failed") {
    throw new ProblemError(
      "conflict",
      `Message ${id} is ${current.status}; only failed messages can be retried.`,
      {
        extensions: { status: current.status },
      },
    );
  }
  const stored = current.hasBlobs
    ? await services.messages
        .download(deadLetterPath(id))
        .then(text)
        .catch(() => undefined)
    : undefined;
  if (!stored) {
    throw new ProblemError("conflict", `Message ${id} can no longer be retried: its content was not kept.`, {
      extensions: { status: current.status },
    });
  }
  const envelope = decodeEnvelope(JSON.parse(stored));

  let raced = false;
  const record = await services.statuses.update(client.id, id, (r): StatusRecord | undefined => {
    raced = r.status !== "failed";
    if (raced) return undefined;
    return transition(r, "queued", services.clock.now(), { reason: "retry requested by the caller" });
  });
  if (!record || raced) throw new ProblemError("conflict", `Message ${id} was retried or changed meanwhile.`);
  await services.queue.send(encodeEnvelope(envelope));
  log.info("failed message retried", { messageId: id, clientId: client.id });
  return jsonResponse(202, publicView(record));
};

export const retryMessageRoute: Route = {
  name: "retryMessage",
  methods: ["POST"],
  route: "v1/messages/{id}/retry",
  handler: retryMessage,
  doc: {
    operationId: "RetryMessage",
    summary: "Retry a failed message",
    description: "Queues a failed message again, while its content is kept (FAILED_MESSAGE_RETENTION_DAYS).",
    requiresKey: true,
    pathParams: { id: { description: "The id answered by Send an email.", schema: z.string() } },
    responses: { 202: { description: "Queued again; its status record.", schema: publicStatusSchema } },
    problems: ["notFound", "conflict"],
    connector: false,
  },
};
