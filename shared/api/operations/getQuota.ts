import { z } from "zod";
import { visibleClients } from "../../app/scope.js";
import { addressProblem, senderAllowed } from "../../domain/address.js";
import { ProblemError } from "../../domain/problem.js";
import { type Handler, jsonResponse, type Route } from "../http.js";
import { mailboxViewSchema, toMailboxView } from "../views.js";

/**
 * Only mailboxes the caller may send as (any client's, for an operator); any other is simply not found (even
 * when it exists).
 */
const getQuota: Handler = async (request, { services, client }) => {
  const mailbox = (request.params.address ?? "").trim();
  const sender =
    addressProblem(mailbox) === undefined
      ? visibleClients(client, services.config.clients).find((c) => senderAllowed(c.senders, mailbox))
      : undefined;
  if (!sender) throw new ProblemError("notFound", `No mailbox ${mailbox} for this client.`);
  const [view, tenant] = await Promise.all([
    services.pacer.quota(mailbox, sender.transport),
    services.tenant.view(),
  ]);
  return jsonResponse(200, toMailboxView(mailbox, view, tenant));
};

export const getQuotaRoute: Route = {
  name: "getQuota",
  methods: ["GET"],
  route: "api/v1/mailboxes/{address}/quota",
  access: "key",
  handler: getQuota,
  doc: {
    operationId: "GetMailboxQuota",
    summary: "Get mailbox quota",
    description:
      "Messages in the current rolling window, recipients in the last 24 hours, the limits, sends in flight " +
      "and the next free slot of a mailbox the caller may send as, and whether the tenant is over its " +
      "external recipient limit.",
    pathParams: {
      address: { description: "The sending mailbox, e.g. scanner@contoso.com.", schema: z.string() },
    },
    responses: { 200: { description: "The mailbox's usage and limits.", schema: mailboxViewSchema } },
    problems: ["notFound"],
  },
};
