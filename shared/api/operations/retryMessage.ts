import { z } from "zod";
import { retryMessage } from "../../app/retryMessage.js";
import { publicStatusSchema, publicView } from "../../domain/statusRecord.js";
import { jsonResponse, type Route } from "../http.js";
import { messageIdParam } from "../messageIds.js";

/** `POST /api/v1/messages/{id}/retry`: sends a failed message again while its content is kept. */
export const retryMessageRoute: Route = {
  name: "retryMessage",
  methods: ["POST"],
  route: "api/v1/messages/{id}/retry",
  access: "key",
  handler: async (request, { services, log, client }) =>
    jsonResponse(202, publicView(await retryMessage(client, messageIdParam(request.params), services, log))),
  doc: {
    operationId: "RetryMessage",
    summary: "Retry a failed message",
    description:
      "Queues a failed message again, while its content is kept (FAILED_MESSAGE_RETENTION_DAYS); the timeline " +
      "records who asked. An operator key may retry any client's message.",
    pathParams: { id: { description: "The id answered by Send an email.", schema: z.string() } },
    responses: { 202: { description: "Queued again; its status record.", schema: publicStatusSchema } },
    problems: ["notFound", "conflict"],
    connector: false,
  },
};
