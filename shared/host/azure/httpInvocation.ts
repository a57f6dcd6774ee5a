import type { ReadableStream } from "node:stream/web";
import { type ApiRequest, type ApiResponse, type ApiServices, handle, type Route } from "../../api/http.js";
import { lingerBound, lingeringBody } from "../../intake/lingeringBody.js";
import type { Logger } from "../../log.js";

/** The part of the Functions HttpRequest an invocation reads (`request.body` streams with enableHttpStream). */
export type FunctionsRequest = Omit<ApiRequest, "body"> & { body: ReadableStream<Uint8Array> | null };

/**
 * One HTTP invocation under Azure Functions. The host forwards the request to this worker's own HTTP server
 * and its answer back to the client (DefaultHttpProxyService in github.com/Azure/azure-functions-host, over
 * YARP's HttpForwarder, which copies the answer to the client before it waits for the request body). Letting
 * the handler cancel the body would destroy the worker's side of that connection before the answer is written,
 * so the handler gets a body it may cancel, and what it left unread is read and dropped after the answer,
 * within the local host's bound (docs/api.md, "Answers before the body is read").
 */
export async function answerHttp(
  route: Route,
  request: FunctionsRequest,
  services: ApiServices,
  log: Logger,
): Promise<ApiResponse> {
  const body = request.body ? lingeringBody(request.body) : undefined;
  const response = await handle(route, { ...request, body: body?.stream ?? null }, services, log);
  // Not awaited: the worker writes the answer only once the invocation returns; the drain never rejects.
  if (body && !body.ended) void body.discardRest(lingerBound(services.config.limits.messageBytes));
  return response;
}
