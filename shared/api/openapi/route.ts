import { z } from "zod";
import { jsonResponse, type Route } from "../http.js";
import { apiRoot, openApiPath } from "../routeTemplate.js";
import { buildOpenApiDocument, type OpenApiDocument } from "./document.js";

/**
 * `GET /api/v1/openapi.json`: the document of `table` (the route table, this route included), with the
 * server URL this request came to; built once per server URL, since the table does not change at run time.
 */
export function openApiRoute(table: () => readonly Route[]): Route {
  let cached: { serverUrl: string; document: OpenApiDocument } | undefined;
  const route: Route = {
    name: "openapi",
    methods: ["GET"],
    route: "api/v1/openapi.json",
    access: "public",
    handler: async (request) => {
      const url = new URL(request.url);
      // The server URL is where the API's paths start: this path without the document's own OpenAPI path.
      const suffix = openApiPath(route.route);
      const base = url.pathname.endsWith(suffix) ? url.pathname.slice(0, -suffix.length) : `/${apiRoot}`;
      const serverUrl = `${url.origin}${base}`;
      if (cached?.serverUrl !== serverUrl)
        cached = { serverUrl, document: buildOpenApiDocument(table(), serverUrl) };
      return jsonResponse(200, cached.document, { "Cache-Control": "public, max-age=300" });
    },
    doc: {
      operationId: "GetOpenApiDocument",
      summary: "Get the OpenAPI document",
      description: "This document; needs no key.",
      responses: {
        200: { description: "An OpenAPI 3.1 document.", schema: z.record(z.string(), z.unknown()) },
      },
      connector: false,
    },
  };
  return route;
}
