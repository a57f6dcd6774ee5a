import { z } from "zod";
import { cancelMessage } from "../../app/cancelMessage.js";
import { publicStatusSchema, publicView } from "../../domain/statusRecord.js";
import { jsonResponse, type Route } from "../http.js";
import { messageIdParam } from "../messageIds.js";

/** `DELETE /api/v1/messages/{id}`: cancels a message not yet handed to a provider. */
export const cancelMessageRoute: Route = {
  name: "cancelMessage",
  methods: ["DELETE"],
  route: "api/v1/messages/{id}",
  access: "key",
  handler: async (request, { services, log, client }) =>
    jsonResponse(200, publicView(await cancelMessage(client, messageIdParam(request.params), services, log))),
  doc: {
    operationId: "CancelMessage",
    summary: "Cancel a message",
    description:
      "Cancels a message that is queued, scheduled or deferred; refused with 409 once sending has begun. The " +
      "timeline records who asked; an operator key may cancel any client's message.",
    pathParams: { id: { description: "The id answered by Send an email.", schema: z.string() } },
    responses: { 200: { description: "The cancelled message's status record.", schema: publicStatusSchema } },
    problems: ["notFound", "conflict"],
  },
};
