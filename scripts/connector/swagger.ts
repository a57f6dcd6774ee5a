import type { Route } from "../../shared/api/http.js";
import {
  connectorExclusion,
  type JsonObject,
  type OpenApiDocument,
} from "../../shared/api/openapi/document.js";

/**
 * Power Automate custom connectors take OpenAPI 2.0 (Swagger) only, under 1 MB, with API key, basic or
 * OAuth 2 connection auth (Microsoft Learn, "Custom connector FAQ" / "Create a custom connector from an
 * OpenAPI definition"). This turns mailhook's OpenAPI 3.1 document into that, keeping the JSON bodies only.
 */

/** Where the connector points until its importer edits the host (the Function App's default host name). */
export const placeholderHost = "your-mailhook-app.azurewebsites.net";

/** The connection parameter and security definition name Power Automate pairs by convention. */
export const apiKeyParameter = "api_key";

// Keywords Swagger 2.0's Schema Object shares with JSON Schema (OpenAPI 2.0 spec, "Schema Object").
const sharedKeywords = new Set([
  "title",
  "description",
  "default",
  "multipleOf",
  "maximum",
  "minimum",
  "maxLength",
  "minLength",
  "pattern",
  "maxItems",
  "minItems",
  "uniqueItems",
  "maxProperties",
  "minProperties",
  "required",
  "enum",
  "type",
  "format",
  "readOnly",
]);

// Flows fill these in less often; Power Automate shows them under "Show advanced options".
const advancedFields = new Set([
  "cc",
  "bcc",
  "replyTo",
  "headers",
  "importance",
  "sendAt",
  "saveToSentItems",
  "metadata",
]);

function humanize(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * A JSON Schema 2020-12 object as a Swagger 2.0 schema. Unions become their string variant when there is
 * one (Power Automate's own connectors take recipients as one "a@b; c@d" string and files as base64
 * strings, converting a flow's file objects on the way), else their first variant; keywords 2.0 lacks
 * (`propertyNames`, `patternProperties`, `const`, `contentMediaType`) are dropped or rewritten.
 */
export function toSwaggerSchema(schema: JsonObject, options: { labels?: boolean } = {}): JsonObject {
  const union = (schema.anyOf ?? schema.oneOf) as JsonObject[] | undefined;
  if (union && union.length > 0) {
    const chosen = union.find((v) => v.type === "string") ?? union[0]!;
    const { anyOf: _a, oneOf: _o, ...outer } = schema;
    // The chosen variant's own description fits the 2.0 shape better than the union's.
    return toSwaggerSchema({ ...outer, ...chosen }, options);
  }
  if (typeof schema.$ref === "string")
    return { $ref: schema.$ref.replace("#/components/schemas/", "#/definitions/") };
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) if (sharedKeywords.has(key)) out[key] = value;
  if (Array.isArray(schema.type)) out.type = schema.type.find((t) => t !== "null");
  if (schema.const !== undefined) out.enum = [schema.const];
  if (typeof schema.exclusiveMinimum === "number")
    Object.assign(out, { minimum: schema.exclusiveMinimum, exclusiveMinimum: true });
  if (typeof schema.exclusiveMaximum === "number")
    Object.assign(out, { maximum: schema.exclusiveMaximum, exclusiveMaximum: true });
  // zod writes date-times as format plus a long pattern; the format says it.
  if (out.format) delete out.pattern;
  if (schema.contentEncoding === "base64") out.format = "byte";
  if (schema.type === "array")
    out.items = toSwaggerSchema((schema.items as JsonObject | undefined) ?? {}, options);
  if (schema.properties) {
    const properties: Record<string, JsonObject> = {};
    for (const [name, property] of Object.entries(schema.properties as Record<string, JsonObject>)) {
      const converted = toSwaggerSchema(property, options);
      if (options.labels) {
        converted["x-ms-summary"] = humanize(name);
        if (advancedFields.has(name)) converted["x-ms-visibility"] = "advanced";
      }
      properties[name] = converted;
    }
    out.properties = properties;
  }
  if (typeof schema.additionalProperties === "object" && schema.additionalProperties !== null)
    out.additionalProperties = toSwaggerSchema(schema.additionalProperties as JsonObject, options);
  else if (typeof schema.additionalProperties === "boolean")
    out.additionalProperties = schema.additionalProperties;
  if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
  return out;
}

function pathParameters(operation: JsonObject): JsonObject[] {
  const parameters = (operation.parameters as JsonObject[] | undefined) ?? [];
  // Headers meant for other callers (the SMTP edge's raw MIME) stay out of the flow designer.
  return parameters
    .filter((p) => p[connectorExclusion] !== true)
    .map((p) => {
      const schema = toSwaggerSchema(p.schema as JsonObject);
      return {
        name: p.name,
        in: p.in,
        required: p.required,
        description: p.description,
        "x-ms-summary": humanize(String(p.name)),
        ...schema,
        type: schema.type ?? "string",
      };
    });
}

function connectorOperation(operation: JsonObject): JsonObject {
  const parameters = pathParameters(operation);
  const body = (operation.requestBody as { content?: Record<string, { schema: JsonObject }> } | undefined)
    ?.content;
  const json = body?.["application/json"];
  // Power Automate builds its action form from the JSON body; multipart is for scanners.
  if (json)
    parameters.push({
      name: "body",
      in: "body",
      required: true,
      schema: toSwaggerSchema(json.schema, { labels: true }),
    });
  const responses: Record<string, JsonObject> = {};
  for (const [status, response] of Object.entries(operation.responses as Record<string, JsonObject>)) {
    if (!/^2/.test(status)) continue;
    const content = response.content as Record<string, { schema: JsonObject }> | undefined;
    const schema = content?.["application/json"]?.schema;
    const headers = response.headers as Record<string, { description: string }> | undefined;
    responses[status] = {
      description: response.description,
      ...(schema ? { schema: toSwaggerSchema(schema) } : {}),
      ...(headers
        ? {
            headers: Object.fromEntries(
              Object.entries(headers).map(([name, h]) => [
                name,
                { type: "string", description: h.description },
              ]),
            ),
          }
        : {}),
    };
  }
  responses.default = {
    description: "An error (application/problem+json).",
    schema: { $ref: "#/definitions/Problem" },
  };
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    description: operation.description,
    "x-ms-visibility": "important",
    ...(json ? { consumes: ["application/json"] } : {}),
    produces: ["application/json"],
    parameters,
    responses,
  };
}

/** The connector's `apiDefinition.swagger.json`: every route of `routes` except those marked `connector: false`. */
export function buildConnectorDefinition(
  document: OpenApiDocument,
  routes: readonly Route[],
  options: { host?: string; basePath: string },
): JsonObject {
  const excluded = new Set(routes.filter((r) => r.doc?.connector === false).map((r) => r.doc?.operationId));
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (excluded.has(String(operation.operationId))) continue;
      paths[path] = { ...paths[path], [method]: connectorOperation(operation) };
    }
  }
  return {
    swagger: "2.0",
    info: {
      title: "mailhook",
      description:
        "Send email through your organization's Microsoft 365 mailboxes with mailhook: attachments, scheduling and delivery status.",
      version: document.info.version,
    },
    host: options.host ?? placeholderHost,
    basePath: options.basePath,
    schemes: ["https"],
    consumes: ["application/json"],
    produces: ["application/json"],
    paths,
    definitions: { Problem: toSwaggerSchema(document.components.schemas.Problem ?? {}) },
    parameters: {},
    responses: {},
    securityDefinitions: { [apiKeyParameter]: { type: "apiKey", in: "header", name: "x-api-key" } },
    security: [{ [apiKeyParameter]: [] }],
    tags: [],
  };
}

/** The connector's `apiProperties.json`: one secure API key parameter, sent as `x-api-key`. */
export function buildConnectorProperties(): JsonObject {
  return {
    properties: {
      connectionParameters: {
        [apiKeyParameter]: {
          type: "securestring",
          uiDefinition: {
            displayName: "API key",
            description: "The mailhook API key of this client (from 'npx mailhook keys new').",
            tooltip: "Your mailhook API key",
            constraints: { tabIndex: 2, clearText: false, required: "true" },
          },
        },
      },
      iconBrandColor: "#0F6CBD",
      capabilities: [],
      publisher: "mailhook",
      stackOwner: "mailhook",
    },
  };
}
