import { overview } from "../../app/overview.js";
import { jsonResponse, type Route } from "../http.js";
import { overviewSchema } from "../views.js";

/** `GET /api/v1/overview`: sent, failed and deferred per hour for the last 24 hours, and the backlog now. */
export const getOverviewRoute: Route = {
  name: "getOverview",
  methods: ["GET"],
  route: "api/v1/overview",
  access: "key",
  handler: async (_request, { services, client }) => {
    const { hours, backlog } = await overview(client, services);
    return jsonResponse(
      200,
      overviewSchema.parse({
        hours: hours.map(({ startMs, ...counts }) => ({ start: new Date(startMs).toISOString(), ...counts })),
        ...(backlog !== undefined ? { backlog } : {}),
      }),
    );
  },
  doc: {
    operationId: "GetOverview",
    summary: "Get the overview",
    description:
      "Messages that became sent, failed or deferred in each of the last 24 hours (the caller's, or every " +
      "client's for an operator), and for an operator the outbound queue's length now.",
    responses: { 200: { description: "The last 24 hours.", schema: overviewSchema } },
    connector: false,
  },
};
