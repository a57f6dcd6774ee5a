import { z } from "zod";
import { isMessageId, messageNotFound } from "../messageIds.js";
import { publicStatusSchema, publicView } from "../../domain/statusRecord.js";
import { type Handler, jsonResponse, type Route } from "../http.js";

/** `GET /api/v1/messages/{id}`: the status record; another client's message is simply not found. */
const getMessage: Handler = async (request, services) => {
  const client = services.clients.authenticate(request.headers);
  const id = request.params.id ?? "";
  const record = isMessageId(id) ? await services.statuses.get(client.id, id) : undefined;
  if (!record) throw messageNotFound(id);
  return jsonResponse(200, publicView(record));
};

export const getMessageRoute: Route = {
  name: "getMessage",
  methods: ["GET"],
  route: "v1/messages/{id}",
  handler: getMessage,
  doc: {
    operationId: "GetMessageStatus",
    summary: "Get message status",
    description: "The message's status, attempts, timeline and last provider error.",
    requiresKey: true,
    pathParams: { id: { description: "The id answered by Send an email.", schema: z.string() } },
    responses: { 200: { description: "The status record.", schema: publicStatusSchema } },
    problems: ["notFound"],
  },
};
