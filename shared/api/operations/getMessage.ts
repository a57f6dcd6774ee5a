import { z } from "zod";
import { messageNotFound } from "../../app/messageNotFound.js";
import { findMessage } from "../../app/scope.js";
import { publicStatusSchema, publicView } from "../../domain/statusRecord.js";
import { jsonResponse, type Route } from "../http.js";
import { messageIdParam } from "../messageIds.js";

/**
 * `GET /api/v1/messages/{id}`: the status record; another client's message is simply not found, unless the
 * caller is an operator.
 */
export const getMessageRoute: Route = {
  name: "getMessage",
  methods: ["GET"],
  route: "api/v1/messages/{id}",
  access: "key",
  handler: async (request, { services, client }) => {
    const id = messageIdParam(request.params);
    const record = await findMessage(client, id, services);
    if (!record) throw messageNotFound(id);
    return jsonResponse(200, publicView(record));
  },
  doc: {
    operationId: "GetMessageStatus",
    summary: "Get message status",
    description: "The message's status, attempts, timeline and last provider error.",
    pathParams: { id: { description: "The id answered by Send an email.", schema: z.string() } },
    responses: { 200: { description: "The status record.", schema: publicStatusSchema } },
    problems: ["notFound"],
  },
};
