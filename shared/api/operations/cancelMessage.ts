import { z } from "zod";
import { ProblemError } from "../../domain/problem.js";
import {
  type MessageStatus,
  publicStatusSchema,
  publicView,
  type StatusRecord,
  transition,
} from "../../domain/statusRecord.js";
import { type Handler, jsonResponse, type Route } from "../http.js";
import { isMessageId, messageNotFound } from "../messageIds.js";

const cancellable: ReadonlySet<MessageStatus> = new Set(["queued", "scheduled", "deferred"]);

/**
 * `DELETE /api/v1/messages/{id}`: cancels a message not yet handed to a provider. The status change is
 * conditional (ETag), so it cannot cross the dispatcher's move to `sending`: one of the two wins.
 */
const cancelMessage: Handler = async (request, services, log) => {
  const client = services.clients.authenticate(request.headers);
  const id = request.params.id ?? "";
  let refused: StatusRecord | undefined;
  const record = !isMessageId(id)
    ? undefined
    : await services.statuses.update(client.id, id, (r) => {
        refused = undefined;
        if (r.status === "cancelled") return undefined;
        if (!cancellable.has(r.status)) {
          refused = r;
          return undefined;
        }
        const reason = "cancelled by the caller";
        return transition(r, "cancelled", services.clock.now(), {
          nextAttemptAt: undefined,
          reason,
          hasBlobs: false,
        });
      });
  if (!record) throw messageNotFound(id);
  if (refused) {
    const why = refused.status === "sending" ? "sending has begun" : `it is already ${refused.status}`;
    throw new ProblemError("conflict", `Message ${id} cannot be cancelled: ${why}.`, {
      extensions: { status: refused.status },
    });
  }
  await services.messages.deleteMessage(id);
  log.info("message cancelled", { messageId: id, clientId: client.id });
  return jsonResponse(200, publicView(record));
};

export const cancelMessageRoute: Route = {
  name: "cancelMessage",
  methods: ["DELETE"],
  route: "v1/messages/{id}",
  handler: cancelMessage,
  doc: {
    operationId: "CancelMessage",
    summary: "Cancel a message",
    description:
      "Cancels a message that is queued, scheduled or deferred; refused with 409 once sending has begun.",
    requiresKey: true,
    pathParams: { id: { description: "The id answered by Send an email.", schema: z.string() } },
    responses: { 200: { description: "The cancelled message's status record.", schema: publicStatusSchema } },
    problems: ["notFound", "conflict"],
  },
};
