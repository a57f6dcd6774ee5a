import { visibleClients } from "../../app/scope.js";
import { jsonResponse, type Route } from "../http.js";
import { callerSchema } from "../views.js";

/** `GET /api/v1/me`: whose key this is and whose messages it sees (the console's sign-in asks this first). */
export const getCallerRoute: Route = {
  name: "getCaller",
  methods: ["GET"],
  route: "api/v1/me",
  access: "key",
  handler: async (_request, { services, client }) =>
    jsonResponse(
      200,
      callerSchema.parse({
        clientId: client.id,
        operator: client.operator === true,
        clients: visibleClients(client, services.config.clients).map((c) => ({
          id: c.id,
          transport: c.transport,
        })),
      }),
    ),
  doc: {
    operationId: "GetCaller",
    summary: "Who am I",
    description: "The client this key belongs to, whether it is an operator, and the clients it sees.",
    responses: { 200: { description: "The caller.", schema: callerSchema } },
    connector: false,
  },
};
