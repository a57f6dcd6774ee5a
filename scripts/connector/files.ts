import type { JsonObject } from "../../shared/api/openapi/document.js";
import { buildOpenApiDocument } from "../../shared/api/openapi/document.js";
import { routes } from "../../shared/api/routes.js";
import { apiRoot } from "../../shared/api/routeTemplate.js";
import { buildConnectorDefinition, buildConnectorProperties, placeholderHost } from "./swagger.js";

/** The connector folder's files by name, generated from the route table (every API path is under `/api`). */
export function connectorFiles(host: string = placeholderHost): Record<string, JsonObject> {
  const basePath = `/${apiRoot}`;
  const document = buildOpenApiDocument(routes, `https://${host}${basePath}`);
  return {
    "apiDefinition.swagger.json": buildConnectorDefinition(document, routes, { host, basePath }),
    "apiProperties.json": buildConnectorProperties(),
  };
}

/** How a generated file is written: two-space JSON and a final newline. */
export function serialize(value: JsonObject): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
