import type { ReadableStream } from "node:stream/web";
import type { z } from "zod";
import type { Services } from "../app/services.js";
import type { Client } from "../domain/client.js";
import { ProblemError, type ProblemKind } from "../domain/problem.js";
import { ClientAbortedError } from "../intake/body.js";
import type { Logger } from "../log.js";
import type { ClientRegistry } from "./auth.js";

/** The part of an HTTP request handlers use; Azure Functions' HttpRequest and the local host both provide it. */
export interface ApiRequest {
  method: string;
  url: string;
  headers: Headers;
  params: Record<string, string>;
  body: ReadableStream<Uint8Array> | null;
  /**
   * The caller's network address as the host knows it: the socket's peer under the local host, the address
   * the platform's front end recorded in Azure (shared/host/azure/clientAddress.ts). Never a header the
   * caller can set: the failed-key limiter counts per source.
   */
  source: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
}

/** The services behind the API: the use cases' and the registry of callers' keys. */
export interface ApiServices extends Services {
  clients: ClientRegistry;
}

/** What a handler gets besides the request: the services, a logger and, on key routes, the caller. */
export interface RequestContext<C extends Client | undefined> {
  services: ApiServices;
  log: Logger;
  client: C;
}

export type Handler<C extends Client | undefined = Client> = (
  request: ApiRequest,
  context: RequestContext<C>,
) => Promise<ApiResponse>;

/** One documented response of an operation. */
export interface ResponseDoc {
  description: string;
  /** The JSON body's schema (output side); none for an empty body. */
  schema?: z.ZodType;
  /** Response headers worth documenting (e.g. `Location`), with what they hold. */
  headers?: Record<string, string>;
}

/**
 * What the OpenAPI document (`GET /api/v1/openapi.json`) and the Power Automate connector say about a route,
 * kept beside the handler and built from the zod schemas it validates with (see `shared/api/openapi/document.ts`).
 */
export interface RouteDoc {
  /** Stable operation id; also the connector's operation id. */
  operationId: string;
  /** Short name shown as the connector action, e.g. "Send an email". */
  summary: string;
  description: string;
  /** Path parameters named in the route template. */
  pathParams?: Record<string, { description: string; schema: z.ZodType }>;
  /** Query parameters the operation reads. */
  queryParams?: Record<string, { description: string; schema: z.ZodType }>;
  /**
   * Request headers the operation reads (beyond authentication); `connector: false` leaves one out of the
   * Power Automate connector (headers for other callers, such as the SMTP edge's).
   */
  requestHeaders?: Record<string, { description: string; schema: z.ZodType; connector?: false }>;
  /**
   * A message body (input side) by media type, documented with the message's field descriptions; a raw body
   * (MIME) is described in words.
   */
  requestBody?: {
    "application/json"?: z.ZodType;
    "multipart/form-data"?: z.ZodType;
    "message/rfc822"?: { description: string };
  };
  /** Any other JSON body (input side). */
  jsonBody?: z.ZodType;
  /** Successful responses by status code. */
  responses: Record<number, ResponseDoc>;
  /** Problem kinds (RFC 9457 answers) the operation can give besides 401 and 500. */
  problems?: ProblemKind[];
  /** False to leave the operation out of the Power Automate connector. */
  connector?: boolean;
}

interface RouteBase {
  /** The Azure Function's name (`functions/<name>.ts` registers it). */
  name: string;
  methods: ("GET" | "POST" | "DELETE")[];
  /**
   * Route template in Functions syntax (host.json's route prefix is empty): API routes start with `api/`
   * (`shared/api/routeTemplate.ts`); no two routes of the table may match the same request.
   */
  route: string;
  /** What OpenAPI says of the operation; every API route has one, the console's files have none. */
  doc?: RouteDoc;
}

/**
 * One HTTP operation. Every route needs an API key unless it is declared `access: "public"` (the named
 * exemptions: health, the OpenAPI document and the console's static files); `handle` authenticates before
 * the handler runs.
 */
export type Route = RouteBase &
  ({ access: "key"; handler: Handler<Client> } | { access: "public"; handler: Handler<undefined> });

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

// A storage outage is usually short (a failover, a throttling burst); devices and apps retry on 503.
const storageRetryAfterSeconds = 15;

/**
 * Authenticates (unless the route is public), runs the handler and maps every error to problem+json: a
 * ProblemError as it says, anything else as a logged 500 with a generic answer (internal details never
 * reach the caller).
 */
export async function handle(
  route: Route,
  request: ApiRequest,
  services: ApiServices,
  log: Logger,
): Promise<ApiResponse> {
  try {
    if (route.access === "public") return await route.handler(request, { services, log, client: undefined });
    const client = services.clients.authenticate(request.headers, request.source);
    return await route.handler(request, { services, log, client });
  } catch (error) {
    if (error instanceof ProblemError) return problemResponse(error);
    if (error instanceof ClientAbortedError) {
      // Nobody is waiting for this answer; nothing was accepted (the use case undid what it stored).
      log.info("client aborted", { route: route.name, reason: error.message });
      return problemResponse(
        new ProblemError("badRequest", "The request body ended before it was complete."),
      );
    }
    if (services.isStorageOutage(error)) {
      log.warn("storage unavailable; answered 503", {
        route: route.name,
        error: error instanceof Error ? error.message : String(error),
      });
      return problemResponse(
        new ProblemError(
          "unavailable",
          `Storage is unavailable right now; try again in ${storageRetryAfterSeconds} s.`,
          {
            headers: { "Retry-After": String(storageRetryAfterSeconds) },
          },
        ),
      );
    }
    log.error("request failed", {
      route: route.name,
      error: error instanceof Error ? error.message : String(error),
    });
    return problemResponse(
      new ProblemError("internal", "Something went wrong on our side; the request was not accepted."),
    );
  }
}
