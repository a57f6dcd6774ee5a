import { retryMessages } from "../../app/retryMessages.js";
import { jsonResponse, type Route } from "../http.js";
import { readJsonBody } from "../jsonBody.js";
import { bulkRetryRequestSchema, bulkRetryResultSchema } from "../views.js";

/** `POST /api/v1/messages/retry` with `{ids}`: retries failed messages in bulk, each as its own retry would. */
export const retryMessagesRoute: Route = {
  name: "retryMessages",
  methods: ["POST"],
  route: "api/v1/messages/retry",
  access: "key",
  handler: async (request, { services, log, client }) => {
    const { ids } = await readJsonBody(request, bulkRetryRequestSchema);
    return jsonResponse(
      200,
      bulkRetryResultSchema.parse({ results: await retryMessages(client, ids, services, log) }),
    );
  },
  doc: {
    operationId: "RetryMessages",
    summary: "Retry failed messages",
    description:
      "Queues each failed message again (as Retry a failed message does); the answer says per id what became " +
      "of it, so one refusal does not stop the others. An operator key may name any client's messages.",
    jsonBody: bulkRetryRequestSchema,
    responses: { 200: { description: "One result per id, in order.", schema: bulkRetryResultSchema } },
    problems: ["badRequest", "tooLarge", "unsupportedMediaType", "validation"],
    connector: false,
  },
};
