import { join } from "node:path";
import { readHostSettings } from "../../dev/hostSettings.js";
import { projectRoot } from "../../dev/settings.js";
import type { JsonObject } from "../../shared/api/openapi/document.js";
import { buildOpenApiDocument } from "../../shared/api/openapi/document.js";
import { routes } from "../../shared/api/routes.js";
import { buildConnectorDefinition, buildConnectorProperties, placeholderHost } from "./swagger.js";

/** The connector folder's files by name, generated from the route table and host.json's route prefix. */
export function connectorFiles(host: string = placeholderHost): Record<string, JsonObject> {
  const root = projectRoot();
  const prefix = readHostSettings(join(root, "host.json")).http.routePrefix;
  const basePath = prefix ? `/${prefix}` : "/";
  const document = buildOpenApiDocument(routes, `https://${host}${prefix ? basePath : ""}`);
  return {
    "apiDefinition.swagger.json": buildConnectorDefinition(document, routes, { host, basePath }),
    "apiProperties.json": buildConnectorProperties(),
  };
}

/** How a generated file is written: two-space JSON and a final newline. */
export function serialize(value: JsonObject): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
