import { mailboxes } from "../../app/mailboxes.js";
import { jsonResponse, type Route } from "../http.js";
import { mailboxListSchema, toMailboxView } from "../views.js";

/** `GET /api/v1/mailboxes`: every sending mailbox the caller sees, with its usage and limits. */
export const listMailboxesRoute: Route = {
  name: "listMailboxes",
  methods: ["GET"],
  route: "api/v1/mailboxes",
  access: "key",
  handler: async (_request, { services, client }) => {
    const [views, tenant] = await Promise.all([mailboxes(client, services), services.tenant.view()]);
    return jsonResponse(
      200,
      mailboxListSchema.parse({
        mailboxes: views.map(({ mailbox, view }) => toMailboxView(mailbox, view, tenant)),
      }),
    );
  },
  doc: {
    operationId: "ListMailboxes",
    summary: "List mailboxes",
    description:
      "The sending mailboxes the caller may send as (every one, for an operator) with their usage against " +
      "Exchange Online's limits: messages in the rolling minute, recipients in 24 hours, sends in flight, the " +
      "next free slot and any pause.",
    responses: { 200: { description: "The mailboxes.", schema: mailboxListSchema } },
    connector: false,
  },
};
