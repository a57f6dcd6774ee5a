import type { ReadableStream } from "node:stream/web";
import type { Logger } from "../log.js";
import { ProblemError } from "../problem.js";
import type { Services } from "../services.js";

/** The part of an HTTP request handlers use; Azure Functions' HttpRequest and the local host both provide it. */
export interface ApiRequest {
  method: string;
  url: string;
  headers: Headers;
  params: Record<string, string>;
  body: ReadableStream<Uint8Array> | null;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

export type Handler = (request: ApiRequest, services: Services, log: Logger) => Promise<ApiResponse>;

/** One API operation: its Functions name, methods, route template (Functions syntax) and handler. */
export interface Route {
  name: string;
  methods: ("GET" | "POST" | "DELETE")[];
  route: string;
  handler: Handler;
}

export function jsonResponse(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): ApiResponse {
  return {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(value),
  };
}

export function problemResponse(problem: ProblemError): ApiResponse {
  return {
    status: problem.status,
    headers: { "Content-Type": "application/problem+json; charset=utf-8", ...problem.headers },
    body: JSON.stringify(problem.toBody()),
  };
}

/**
 * Runs a handler and maps every error to problem+json: a ProblemError as it says, anything else as a
 * logged 500 with a generic answer (internal details never reach the caller).
 */
export async function handle(
  route: Route,
  request: ApiRequest,
  services: Services,
  log: Logger,
): Promise<ApiResponse> {
  try {
    return await route.handler(request, services, log);
  } catch (error) {
    if (error instanceof ProblemError) return problemResponse(error);
    log.error("request failed", {
      route: route.name,
      error: error instanceof Error ? error.message : String(error),
    });
    return problemResponse(
      new ProblemError("internal", "Something went wrong on our side; the request was not accepted."),
    );
  }
}
