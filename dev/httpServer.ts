import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import { type ApiRequest, handle, problemResponse, type Route } from "../shared/api/http.js";
import type { Logger } from "../shared/log.js";
import { ProblemError } from "../shared/domain/problem.js";
import type { Services } from "../shared/app/services.js";

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

/** Turns a Functions route template (`v1/messages/{id}`) into a matcher under the route prefix. */
function compile(route: Route, prefix: string): CompiledRoute {
  const names: string[] = [];
  const source = route.route
    .split("/")
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(param[1]);
      return "([^/]+)";
    })
    .join("/");
  return { route, pattern: new RegExp(`^/${prefix}/${source}/?$`), names };
}

/** Serves the shared route table over plain HTTP on 127.0.0.1, as the Functions host serves it in Azure. */
export async function serveRoutes(
  routes: readonly Route[],
  routePrefix: string,
  services: Services,
  log: Logger,
  port: number,
): Promise<{ server: Server; url: string }> {
  const compiled = routes.map((route) => compile(route, routePrefix));
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
  services: Services,
  log: Logger,
): Promise<void> {
  const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "127.0.0.1"}`);
  const method = (req.method ?? "GET").toUpperCase();
  const matches = compiled
    .map((c) => ({ c, match: c.pattern.exec(url.pathname) }))
    .filter((m): m is { c: CompiledRoute; match: RegExpExecArray } => m.match !== null);
  const found = matches.find((m) => (m.c.route.methods as string[]).includes(method));
  let response: { status: number; headers: Record<string, string>; body?: string };
  if (found) {
    const params = Object.fromEntries(
      found.c.names.map((name, i) => [name, decodeURIComponent(found.match[i + 1] ?? "")]),
    );
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    const body =
      method === "GET" || method === "HEAD" ? null : (Readable.toWeb(req) as ReadableStream<Uint8Array>);
    const request: ApiRequest = { method, url: url.toString(), headers, params, body };
    response = await handle(found.c.route, request, services, log);
  } else if (matches.length > 0) {
    const allow = matches.flatMap((m) => m.c.route.methods).join(", ");
    response = problemResponse(
      new ProblemError("methodNotAllowed", `${method} is not allowed here; use ${allow}.`, {
        headers: { Allow: allow },
      }),
    );
  } else {
    response = problemResponse(new ProblemError("notFound", `No route ${url.pathname}.`));
  }
  // An answer given before the body was read (401, 413...) closes the connection instead of reading the rest.
  if (!req.complete) response.headers.Connection = "close";
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}
