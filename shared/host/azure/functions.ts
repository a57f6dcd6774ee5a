import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import { routeNamed } from "../../api/routes.js";
import { jsonLogger, type Logger } from "../../log.js";
import { defaultStorageNames } from "../../storage/azure/account.js";
import { functionNamed, queueFunctions, timerFunctions } from "../functions.js";
import { clientAddress } from "./clientAddress.js";
import { answerHttp } from "./httpInvocation.js";
import { runtime } from "./runtime.js";

// Stream request bodies: uploads go to Blob storage without being held in memory.
app.setup({ enableHttpStream: true });

/** Structured JSON lines through the invocation context (Application Insights keeps them per invocation). */
function contextLogger(context: InvocationContext): Logger {
  return jsonLogger((level, line) => context[level](line), { invocationId: context.invocationId });
}

/** Registers the HTTP operation `name` of the route table (`shared/api/routes.ts`). */
export function registerHttpFunction(name: string): void {
  const route = routeNamed(name);
  app.http(name, {
    methods: route.methods,
    route: route.route,
    authLevel: "anonymous",
    handler: async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
      const { services } = await runtime();
      return answerHttp(
        route,
        {
          method: request.method,
          url: request.url,
          headers: request.headers,
          params: request.params,
          body: request.body,
          source: clientAddress(request.headers),
        },
        services,
        contextLogger(context),
      );
    },
  });
}

/** Registers the queue function `name` of `shared/host/functions.ts`. */
export function registerQueueFunction(name: string): void {
  const fn = functionNamed(queueFunctions, name);
  app.storageQueue(name, {
    queueName: defaultStorageNames[fn.queue],
    connection: "AzureWebJobsStorage",
    handler: async (item, context) => {
      // The queue trigger's metadata: https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#message-metadata
      const { dequeueCount, id } = context.triggerMetadata ?? {};
      await fn.run(
        item,
        {
          dequeueCount: typeof dequeueCount === "number" ? dequeueCount : undefined,
          queueMessageId: typeof id === "string" ? id : undefined,
        },
        await runtime(),
        contextLogger(context),
      );
    },
  });
}

/** Registers the timer function `name` of `shared/host/functions.ts`. */
export function registerTimerFunction(name: string): void {
  const fn = functionNamed(timerFunctions, name);
  app.timer(name, {
    schedule: fn.schedule,
    handler: async (_timer, context) => {
      await fn.run(await runtime(), contextLogger(context));
    },
  });
}
