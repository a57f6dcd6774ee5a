import { z } from "zod";
import { type ProblemKind, problemTypes, problemTypeUri } from "../../domain/problem.js";
import type { Route, RouteDoc } from "../http.js";
import { openApiPath } from "../routeTemplate.js";
import { problemSchema } from "../views.js";

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it) or any other JSON object of the document. */
export type JsonObject = { [key: string]: unknown };

/** The OpenAPI 3.1 document this module builds; `paths` and `components` are plain JSON. */
export interface OpenApiDocument extends JsonObject {
  openapi: "3.1.0";
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, JsonObject>>;
  components: { schemas: Record<string, JsonObject>; securitySchemes: Record<string, JsonObject> };
}

// Kept with the other answers' schemas (the console reads it too); exported here for the document's users.
export { problemSchema };

/** The API's version, as in its paths (`/api/v1/...`). */
export const apiVersion = "1.0.0";

/** The JSON Schema of one side of a zod schema: `input` for request bodies, `output` for responses. */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonObject {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, {
    io,
    target: "draft-2020-12",
    // Refinements and transforms have no JSON Schema; the input side of a transform is what callers send.
    unrepresentable: "any",
  }) as JsonObject;
  return json;
}

/** The schema object at `path` (property names; `[]` steps into array items), or an error naming the path. */
function at(schema: JsonObject, path: readonly string[]): JsonObject {
  let here: JsonObject = schema;
  for (const step of path) {
    const next =
      step === "[]" ? here.items : (here.properties as Record<string, unknown> | undefined)?.[step];
    if (typeof next !== "object" || next === null)
      throw new Error(`the message schema has no ${path.join(".")} (update shared/api/openapi/document.ts)`);
    here = next as JsonObject;
  }
  return here;
}

/** The variant of an `anyOf` with the given JSON type. */
function variant(schema: JsonObject, type: string): JsonObject {
  const found = (schema.anyOf as JsonObject[] | undefined)?.find((v) => v.type === type);
  if (!found) throw new Error(`expected an anyOf with a ${type} variant`);
  return found;
}

const recipientsText =
  'A list of "a@b", "Name <a@b>" or {address, name}; or one string of addresses separated by "," or ";".';

/**
 * Descriptions zod cannot carry through its transforms, added by field path. A path that no longer exists
 * throws, so a renamed field breaks the OpenAPI test instead of leaving a stale description.
 */
function describeMessageFields(schema: JsonObject, multipart: boolean): JsonObject {
  const describe = (path: string[], description: string) => {
    at(schema, path).description = description;
  };
  describe(["from"], 'The sender, "a@b" or "Name <a@b>"; defaults to the client\'s default sender.');
  for (const field of ["to", "cc", "bcc", "replyTo"]) {
    describe([field], recipientsText);
    variant(at(schema, [field]), "string").description = 'Addresses separated by ";" or ",".';
  }
  describe(["subject"], "The subject (no CR or LF).");
  describe(["text"], "The plain-text body.");
  describe(["html"], "The HTML body.");
  describe(["importance"], "low, normal or high.");
  describe(["sendAt"], "Send no earlier than this time (ISO 8601 with an offset); the status is scheduled.");
  describe(["saveToSentItems"], "Keep a copy in the mailbox's Sent Items (graph and smtp transports).");
  if (multipart) return schema;
  describe(["headers"], "Custom headers; names must start with X-.");
  describe(["metadata"], "Your own keys and values, echoed back in the status.");
  describe(["attachments"], "Files, in Microsoft Graph's fileAttachment shape.");
  describe(["attachments", "[]", "name"], "The file name.");
  describe(["attachments", "[]", "contentType"], "The MIME type; application/octet-stream when absent.");
  const contentBytes = at(schema, ["attachments", "[]", "contentBytes"]);
  contentBytes.description =
    'The file\'s bytes in base64, or Power Automate\'s file object {"$content-type", "$content"} as a flow hands it over.';
  variant(contentBytes, "string").contentEncoding = "base64";
  variant(contentBytes, "object").description = "A Power Automate file object; $content is base64.";
  return schema;
}

/**
 * The multipart form of a message: the same fields as form fields, `X-*` fields as custom headers,
 * `metadata.<key>` fields as metadata and every file part as an attachment (`shared/intake/form.ts`).
 */
function multipartSchema(fields: z.ZodType): JsonObject {
  const schema = describeMessageFields(jsonSchemaOf(fields, "input"), true);
  const properties = { ...(schema.properties as Record<string, JsonObject>) };
  delete properties.headers;
  delete properties.metadata;
  properties.file = {
    type: "array",
    items: { type: "string", contentMediaType: "application/octet-stream" },
    description: "Attachments: every file part is one, whatever its field name.",
  };
  const { additionalProperties: _closed, ...rest } = schema;
  return {
    ...rest,
    properties,
    patternProperties: {
      "^[Xx]-": { type: "string", description: "A custom header." },
      "^metadata\\.": { type: "string", description: "A metadata entry named after the dot." },
    },
  };
}

const problemRef = { $ref: "#/components/schemas/Problem" };

/** Marks a parameter the Power Automate connector leaves out (an OpenAPI specification extension). */
export const connectorExclusion = "x-mailhook-connector-exclude";

function operation(doc: RouteDoc, requiresKey: boolean): JsonObject {
  const parameters = [
    ...Object.entries(doc.pathParams ?? {}).map(([name, p]) => ({
      name,
      in: "path",
      required: true,
      description: p.description,
      schema: jsonSchemaOf(p.schema, "input"),
    })),
    ...Object.entries(doc.queryParams ?? {}).map(([name, p]) => ({
      name,
      in: "query",
      required: false,
      description: p.description,
      schema: jsonSchemaOf(p.schema, "input"),
    })),
    ...Object.entries(doc.requestHeaders ?? {}).map(([name, p]) => ({
      name,
      in: "header",
      required: false,
      description: p.description,
      schema: jsonSchemaOf(p.schema, "input"),
      ...(p.connector === false ? { [connectorExclusion]: true } : {}),
    })),
  ];
  const content: Record<string, JsonObject> = {};
  const json = doc.requestBody?.["application/json"];
  if (json)
    content["application/json"] = { schema: describeMessageFields(jsonSchemaOf(json, "input"), false) };
  const form = doc.requestBody?.["multipart/form-data"];
  if (form) content["multipart/form-data"] = { schema: multipartSchema(form) };
  const mime = doc.requestBody?.["message/rfc822"];
  if (mime) {
    content["message/rfc822"] = {
      schema: { type: "string", contentMediaType: "message/rfc822", description: mime.description },
    };
  }
  if (doc.jsonBody) content["application/json"] = { schema: jsonSchemaOf(doc.jsonBody, "input") };

  const responses: Record<string, JsonObject> = {};
  for (const [status, response] of Object.entries(doc.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.schema
        ? { content: { "application/json": { schema: jsonSchemaOf(response.schema, "output") } } }
        : {}),
      ...(response.headers
        ? {
            headers: Object.fromEntries(
              Object.entries(response.headers).map(([name, description]) => [
                name,
                { description, schema: { type: "string" } },
              ]),
            ),
          }
        : {}),
    };
  }
  const kinds: ProblemKind[] = [
    ...(requiresKey ? ["unauthorized" as const] : []),
    ...(doc.problems ?? []),
    "internal",
    // Every operation behind a key reads or writes storage: an outage is a 503 with Retry-After.
    ...(requiresKey ? ["unavailable" as const] : []),
  ];
  for (const kind of kinds) {
    const { status, title } = problemTypes[kind];
    responses[String(status)] = {
      description: `${title} (${problemTypeUri(kind)})`,
      content: { "application/problem+json": { schema: problemRef } },
    };
  }
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    description: doc.description,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(Object.keys(content).length > 0 ? { requestBody: { required: true, content } } : {}),
    responses,
    security: requiresKey ? [{ bearerKey: [] }, { apiKeyHeader: [] }, { basicKey: [] }] : [],
  };
}

/** The OpenAPI 3.1 document of `routes`, served at `serverUrl` (e.g. `https://app.azurewebsites.net/api`). */
export function buildOpenApiDocument(routes: readonly Route[], serverUrl: string): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of routes) {
    const { doc } = route;
    // Not an API operation (the console's files).
    if (!doc) continue;
    const path = openApiPath(route.route);
    for (const method of route.methods) {
      const item = paths[path] ?? {};
      paths[path] = item;
      const key = method.toLowerCase();
      if (item[key]) throw new Error(`two routes answer ${method} ${path}`);
      // One operation id per method: a route with several methods gets the method appended after the first.
      const op = operation(doc, route.access === "key");
      if (method !== route.methods[0])
        op.operationId = `${doc.operationId}${method[0]}${method.slice(1).toLowerCase()}`;
      item[key] = op;
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "mailhook",
      version: apiVersion,
      description:
        "Send email through Microsoft 365 over HTTPS: submit a message (JSON or multipart), then poll its status. " +
        "Errors are application/problem+json (RFC 9457).",
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      schemas: { Problem: jsonSchemaOf(problemSchema, "output") },
      securitySchemes: {
        bearerKey: { type: "http", scheme: "bearer", description: "Authorization: Bearer <key>" },
        apiKeyHeader: { type: "apiKey", in: "header", name: "x-api-key" },
        basicKey: { type: "http", scheme: "basic", description: "Any user name; the key as the password." },
      },
    },
  };
}
