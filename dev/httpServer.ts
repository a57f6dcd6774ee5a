import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ReadableStream } from "node:stream/web";
import {
  type ApiRequest,
  type ApiResponse,
  type ApiServices,
  handle,
  problemResponse,
  type Route,
} from "../shared/api/http.js";
import { functionsHostOrder, routeMatcher } from "../shared/api/routeTemplate.js";
import { ProblemError } from "../shared/domain/problem.js";
import { type LingeringBody, lingerBound, lingeringBody } from "../shared/intake/lingeringBody.js";
import type { Logger } from "../shared/log.js";

interface CompiledRoute {
  route: Route;
  match(pathname: string): Record<string, string> | undefined;
}

/**
 * Serves the shared route table over plain HTTP on 127.0.0.1, as the Functions host serves it in Azure: routes
 * are tried in the host's order (by Function name) and the first whose path and method match answers.
 */
export async function serveRoutes(
  routes: readonly Route[],
  routePrefix: string,
  services: ApiServices,
  log: Logger,
  port: number,
): Promise<{ server: Server; url: string }> {
  const compiled = functionsHostOrder(routes).map((route) => ({
    route,
    match: routeMatcher(route.route, routePrefix),
  }));
  const server = createServer((req, res) => {
    respond(req, res, compiled, services, log).catch((error) => {
      log.error("local host failed to answer", { error: String(error) });
      res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${address.port}` };
}

async function respond(
  req: IncomingMessage,
  res: ServerResponse,
  compiled: CompiledRoute[],
  services: ApiServices,
  log: Logger,
): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
  const method = (req.method ?? "GET").toUpperCase();
  let response: ApiResponse;
  let body: LingeringBody | undefined;
  try {
    const matches = compiled.flatMap((c) => {
      const params = c.match(url.pathname);
      return params ? [{ route: c.route, params }] : [];
    });
    const found = matches.find((m) => (m.route.methods as string[]).includes(method));
    if (found) {
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      if (method !== "GET" && method !== "HEAD") body = lingeringBody(requestStream(req));
      // No proxy in front of the local host: the socket's peer is the caller.
      const source = req.socket.remoteAddress ?? "unknown";
      const request: ApiRequest = {
        method,
        url: url.toString(),
        headers,
        params: found.params,
        body: body?.stream ?? null,
        source,
      };
      response = await handle(found.route, request, services, log);
    } else if (matches.length > 0) {
      const allow = matches.flatMap((m) => m.route.methods).join(", ");
      throw new ProblemError("methodNotAllowed", `${method} is not allowed here; use ${allow}.`, {
        headers: { Allow: allow },
      });
    } else {
      throw new ProblemError("notFound", `No route ${url.pathname}.`);
    }
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    response = problemResponse(error);
  }
  if (req.complete || body?.ended) {
    res.writeHead(response.status, response.headers);
    res.end(response.body);
    return;
  }
  // Answered before the body was read (401, 413...): the answer goes out now, then the rest of the body is
  // read and dropped (bounded) before the connection closes, so the client can finish sending and read it.
  const payload = Buffer.from(response.body ?? "");
  res.writeHead(response.status, {
    ...response.headers,
    "Content-Length": String(payload.length),
    Connection: "close",
  });
  res.write(payload);
  const rest = body ?? lingeringBody(requestStream(req));
  await rest.discardRest(lingerBound(services.config.limits.messageBytes));
  // Past the bound the request stream was cancelled, which already closed the socket.
  if (res.socket && !res.socket.destroyed) res.end();
}

/**
 * The request body as a web stream read only on demand; cancelling it destroys the request. Not
 * Readable.toWeb: on Node 20 it can close its controller twice after a cancel, an uncaught ERR_INVALID_STATE.
 */
function requestStream(req: IncomingMessage): ReadableStream<Uint8Array> {
  return ReadableStream.from<Uint8Array>(req);
}
