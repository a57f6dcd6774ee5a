import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument, type JsonObject } from "../../shared/api/openapi/document.js";
import { routes } from "../../shared/api/routes.js";
import { openApiPath } from "../../shared/api/routeTemplate.js";
import { jsonMessageSchema } from "../../shared/domain/message.js";

const document = buildOpenApiDocument(routes, "https://mailhook.example/api");

function operationOf(operationId: string): JsonObject {
  for (const item of Object.values(document.paths))
    for (const op of Object.values(item)) if (op.operationId === operationId) return op;
  throw new Error(`no operation ${operationId}`);
}

function schemaAt(op: JsonObject, mediaType: string): JsonObject {
  const content = (op.requestBody as { content: Record<string, { schema: JsonObject }> }).content;
  const schema = content[mediaType]?.schema;
  if (!schema) throw new Error(`no ${mediaType} body`);
  return schema;
}

const sendEmailBody = schemaAt(operationOf("SendEmail"), "application/json");
const ajv = new Ajv2020({ strict: false });
const validBody = ajv.compile(sendEmailBody);

// Bodies the handler's zod schema accepts or refuses; the document must agree on each.
const samples: { name: string; body: unknown }[] = [
  {
    name: "Graph-shaped attachments and recipient objects",
    body: {
      to: [{ address: "alice@contoso.com", name: "Alice" }, "Bob <bob@contoso.com>"],
      subject: "Invoice",
      text: "Attached.",
      attachments: [{ name: "a.pdf", contentType: "application/pdf", contentBytes: "JVBERi0=" }],
    },
  },
  {
    name: "Power Automate file object and a ';' separated recipient string",
    body: {
      to: "alice@contoso.com; bob@contoso.com",
      subject: "Scan",
      attachments: [
        { name: "scan.pdf", contentBytes: { "$content-type": "application/pdf", $content: "JVBERi0=" } },
      ],
      metadata: { flow: "invoices" },
      sendAt: "2030-01-01T08:00:00+01:00",
    },
  },
  { name: "an unknown field", body: { to: "a@contoso.com", subject: "x", attachment: [] } },
  { name: "no subject", body: { to: "a@contoso.com" } },
  { name: "a bad importance", body: { to: "a@contoso.com", subject: "x", importance: "urgent" } },
];

describe("the OpenAPI 3.1 document", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("documents every route of the table, each method once", () => {
    const api = routes.filter((r) => r.route.startsWith("api/"));
    for (const route of api) {
      expect(route.doc, `route ${route.name} has no doc`).toBeDefined();
      const item = document.paths[openApiPath(route.route)];
      for (const method of route.methods) expect(item?.[method.toLowerCase()]).toBeDefined();
    }
    // Only the console's files are outside the API, and undocumented.
    expect(routes.filter((r) => !r.route.startsWith("api/")).map((r) => [r.name, r.doc])).toEqual([
      ["console", undefined],
    ]);
    const operations = Object.values(document.paths).flatMap((item) => Object.keys(item));
    expect(operations).toHaveLength(api.reduce((n, r) => n + r.methods.length, 0));
  });

  it("asks for a key exactly where the handlers do", () => {
    for (const route of routes.filter((r) => r.doc)) {
      const op = document.paths[openApiPath(route.route)]?.[route.methods[0]!.toLowerCase()] ?? {};
      const requiresKey = route.access === "key";
      expect((op.security as unknown[]).length > 0, route.name).toBe(requiresKey);
      expect(Object.keys(op.responses as object).includes("401"), route.name).toBe(requiresKey);
    }
    expect(operationOf("Health").security).toEqual([]);
    expect(operationOf("GetOpenApiDocument").security).toEqual([]);
  });

  it.each(samples)("agrees with the handler's schema on $name", ({ body }) => {
    const zodAccepts = jsonMessageSchema.safeParse(body).success;
    expect(validBody(body)).toBe(zodAccepts);
  });

  it("says contentBytes takes base64 or Power Automate's file object", () => {
    const items = (sendEmailBody.properties as Record<string, JsonObject>).attachments?.items as JsonObject;
    const contentBytes = (items.properties as Record<string, JsonObject>).contentBytes!;
    expect(contentBytes.description).toContain("$content-type");
    const variants = contentBytes.anyOf as JsonObject[];
    expect(variants.find((v) => v.type === "string")?.contentEncoding).toBe("base64");
    expect(variants.find((v) => v.type === "object")?.required).toEqual(["$content"]);
  });

  it("documents multipart with file parts and X- and metadata. fields", () => {
    const form = schemaAt(operationOf("SendEmail"), "multipart/form-data");
    const properties = form.properties as Record<string, JsonObject>;
    expect(Object.keys(properties)).toEqual(expect.arrayContaining(["to", "subject", "file"]));
    expect(properties.headers).toBeUndefined();
    expect(Object.keys(form.patternProperties as object)).toEqual(["^[Xx]-", "^metadata\\."]);
  });

  it("turns Functions route templates into OpenAPI paths", () => {
    expect(openApiPath("api/v1/messages/{id}")).toBe("/v1/messages/{id}");
    expect(openApiPath("api/v1/items/{n:int}/{tail?}")).toBe("/v1/items/{n}/{tail}");
    expect(() => openApiPath("v1/messages")).toThrow(/not under api/);
  });
});
