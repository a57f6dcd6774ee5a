import { z } from "zod";
import { listMessages } from "../../app/listMessages.js";
import { messageStatuses, publicView } from "../../domain/statusRecord.js";
import { validate } from "../../domain/validate.js";
import { type Handler, jsonResponse, type Route } from "../http.js";
import { messageListSchema } from "../views.js";

const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const querySchema = z.strictObject({
  status: z.enum(messageStatuses).optional(),
  client: z.string().max(64).optional(),
  mailbox: z.string().max(320).optional(),
  since: instant.optional(),
  until: instant.optional(),
  q: z.string().max(256).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  next: z.string().max(8000).optional(),
});

/** `GET /api/v1/messages?status=failed`: a page of the caller's messages (every client's for an operator), newest first. */
const handler: Handler = async (request, { services, client }) => {
  const query = validate(querySchema, Object.fromEntries(new URL(request.url).searchParams));
  const page = await listMessages(
    client,
    {
      status: query.status,
      clientId: query.client,
      mailbox: query.mailbox,
      since: query.since,
      until: query.until,
      text: query.q,
    },
    query.limit,
    query.next,
    services,
  );
  const next = page.cursor
    ? (() => {
        const url = new URL(request.url);
        url.searchParams.set("next", page.cursor);
        return url.toString();
      })()
    : undefined;
  return jsonResponse(
    200,
    messageListSchema.parse({ messages: page.records.map(publicView), ...(next ? { next } : {}) }),
  );
};

export const listMessagesRoute: Route = {
  name: "listMessages",
  methods: ["GET"],
  route: "api/v1/messages",
  access: "key",
  handler,
  doc: {
    operationId: "ListMessages",
    summary: "List messages",
    description:
      "A page of the caller's messages, newest first, filtered by status, mailbox, creation time or text; " +
      "an operator key sees every client's (and may filter by client).",
    queryParams: {
      status: { description: "Only messages in this status.", schema: z.enum(messageStatuses) },
      client: { description: "Only this client's messages (an operator's filter).", schema: z.string() },
      mailbox: { description: "Only messages sent as this mailbox.", schema: z.string() },
      since: { description: "Created at or after (ISO 8601).", schema: z.iso.datetime({ offset: true }) },
      until: { description: "Created before (ISO 8601).", schema: z.iso.datetime({ offset: true }) },
      q: {
        description:
          "Text in the subject, a recipient or the sender, or the start of the id (a whole id finds one).",
        schema: z.string().max(256),
      },
      limit: { description: "Page size, 1 to 100 (default 50).", schema: z.number().int().min(1).max(100) },
      next: { description: "The cursor of the previous page's next link.", schema: z.string() },
    },
    responses: { 200: { description: "One page; follow `next` for the rest.", schema: messageListSchema } },
    problems: ["validation", "operatorOnly"],
    connector: false,
  },
};
