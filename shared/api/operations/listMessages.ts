import { z } from "zod";
import { messageStatuses, publicStatusSchema, publicView } from "../../domain/statusRecord.js";
import { validate } from "../../domain/validate.js";
import { type Handler, jsonResponse, type Route } from "../http.js";

const querySchema = z.strictObject({
  status: z.enum(messageStatuses).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  next: z.string().max(2048).optional(),
});

/** `GET /api/v1/messages?status=failed`: a page of the caller's own messages, newest storage order first. */
const listMessages: Handler = async (request, { services, client }) => {
  const query = validate(querySchema, Object.fromEntries(new URL(request.url).searchParams));
  const page = await services.statuses.list(client.id, {
    status: query.status,
    limit: query.limit,
    continuationToken: query.next,
  });
  const next = page.continuationToken
    ? (() => {
        const url = new URL(request.url);
        url.searchParams.set("next", page.continuationToken);
        return url.toString();
      })()
    : undefined;
  return jsonResponse(200, { messages: page.records.map(publicView), ...(next ? { next } : {}) });
};

export const listMessagesRoute: Route = {
  name: "listMessages",
  methods: ["GET"],
  route: "api/v1/messages",
  access: "key",
  handler: listMessages,
  doc: {
    operationId: "ListMessages",
    summary: "List messages",
    description: "A page of the caller's messages, optionally of one status (failed ones to act on, say).",
    responses: {
      200: {
        description: "One page; follow `next` for the rest.",
        schema: z.object({ messages: z.array(publicStatusSchema), next: z.url().optional() }),
      },
    },
    problems: ["validation"],
    connector: false,
  },
};
