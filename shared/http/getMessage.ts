import { ProblemError } from "../problem.js";
import { publicView } from "../status/record.js";
import { type Handler, jsonResponse, type Route } from "./api.js";

/** `GET /api/v1/messages/{id}`: the status record; another client's message is simply not found. */
const getMessage: Handler = async (request, services) => {
  const client = services.clients.authenticate(request.headers);
  const id = request.params.id ?? "";
  const record = /^[A-Za-z0-9-]{1,64}$/.test(id) ? await services.statuses.get(client.id, id) : undefined;
  if (!record) throw new ProblemError("notFound", `No message ${id} for this client.`);
  return jsonResponse(200, publicView(record));
};

export const getMessageRoute: Route = {
  name: "getMessage",
  methods: ["GET"],
  route: "v1/messages/{id}",
  handler: getMessage,
};
