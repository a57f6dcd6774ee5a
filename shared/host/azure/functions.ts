import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { handle, type Route } from "../../api/http.js";
import { jsonLogger, type Logger } from "../../log.js";
import { runtime } from "./runtime.js";

// Stream request bodies: uploads go to Blob storage without being held in memory.
app.setup({ enableHttpStream: true });

/** Structured JSON lines through the invocation context (Application Insights keeps them per invocation). */
export function contextLogger(context: InvocationContext): Logger {
  return jsonLogger((level, line) => context[level](line), { invocationId: context.invocationId });
}

/** The `app.http` options for one route of the shared route table. */
export function httpTrigger(route: Route) {
  return {
    methods: route.methods,
    route: route.route,
    authLevel: "anonymous" as const,
    handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
      const { services } = await runtime();
      const response = await handle(
        route,
        {
          method: request.method,
          url: request.url,
          headers: request.headers,
          params: request.params,
          body: request.body,
        },
        services,
        contextLogger(context),
      );
      return response;
    },
  };
}

/** The Functions queue trigger's dequeue count for this invocation. */
export function dequeueCount(context: InvocationContext): number | undefined {
  const count = context.triggerMetadata?.dequeueCount;
  return typeof count === "number" ? count : undefined;
}
