import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../dev/settings.js";
import { connectorFiles, serialize } from "../../scripts/connector/files.js";
import { toSwaggerSchema } from "../../scripts/connector/swagger.js";
import type { JsonObject } from "../../shared/api/openapi/document.js";
import { routes } from "../../shared/api/routes.js";
import { openApiPath } from "../../shared/api/routeTemplate.js";

const generated = connectorFiles();
const definition = generated["apiDefinition.swagger.json"]!;
const operations = Object.entries(definition.paths as Record<string, Record<string, JsonObject>>).flatMap(
  ([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })),
);

// The actions the issue asks for, by route template (POST for the collection, GET for the others).
const expectedActions: Record<string, string> = {
  "api/v1/messages": "Send an email",
  "api/v1/messages/{id}": "Get message status",
  "api/v1/mailboxes/{address}/quota": "Get mailbox quota",
};

describe("the Power Automate connector", () => {
  it.each(Object.keys(generated))(
    "committed connector/%s equals the generated one (npm run connector)",
    async (name) => {
      const committed = JSON.parse(await readFile(join(projectRoot(), "connector", name), "utf8"));
      expect(committed).toEqual(generated[name]);
    },
  );

  it("is a valid OpenAPI 2.0 document under Power Automate's 1 MB limit", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(definition));
    expect(result.errors).toBeUndefined();
    expect(validator.version).toBe("2.0");
    expect(Buffer.byteLength(serialize(definition))).toBeLessThan(1024 * 1024);
  });

  it("covers every route in the table unless the route opts out", () => {
    for (const route of routes.filter((r) => r.doc)) {
      for (const method of route.methods) {
        const found = operations.some(
          (o) => o.path === openApiPath(route.route) && o.method === method.toLowerCase(),
        );
        expect(found, `${route.name} ${method}`).toBe(route.doc?.connector !== false);
      }
    }
  });

  it("names the actions as the issue asks", () => {
    for (const [template, action] of Object.entries(expectedActions)) {
      const method = template === "api/v1/messages" ? "POST" : "GET";
      const route = routes.find((r) => r.route === template && r.methods.includes(method));
      expect(route?.doc?.summary, template).toBe(action);
      expect(
        operations.some((o) => o.op.summary === action),
        action,
      ).toBe(true);
    }
  });

  it("authenticates with an API key in x-api-key, declared in apiProperties.json", () => {
    expect(definition.securityDefinitions).toEqual({
      api_key: { type: "apiKey", in: "header", name: "x-api-key" },
    });
    const properties = generated["apiProperties.json"]!.properties as { connectionParameters: JsonObject };
    expect(Object.keys(properties.connectionParameters)).toEqual(["api_key"]);
    expect((properties.connectionParameters.api_key as JsonObject).type).toBe("securestring");
  });

  it("takes recipients as one string and attachments as base64 (format byte)", () => {
    const send = operations.find((o) => o.op.operationId === "SendEmail")!.op;
    const body = (send.parameters as JsonObject[]).find((p) => p.in === "body")!.schema as JsonObject;
    const properties = body.properties as Record<string, JsonObject>;
    expect(properties.to).toMatchObject({ type: "string", "x-ms-summary": "To" });
    const attachment = properties.attachments!.items as { properties: Record<string, JsonObject> };
    expect(attachment.properties.contentBytes).toMatchObject({ type: "string", format: "byte" });
  });

  it("converts JSON Schema keywords 2.0 lacks", () => {
    expect(
      toSwaggerSchema({
        anyOf: [{ type: "object" }, { type: "string", description: "inner" }],
        description: "outer",
      }),
    ).toEqual({ type: "string", description: "inner" });
    expect(toSwaggerSchema({ type: ["string", "null"], const: "x" })).toEqual({
      type: "string",
      enum: ["x"],
    });
    expect(toSwaggerSchema({ type: "number", exclusiveMinimum: 0 })).toEqual({
      type: "number",
      minimum: 0,
      exclusiveMinimum: true,
    });
    expect(
      toSwaggerSchema({
        type: "object",
        propertyNames: { maxLength: 3 },
        additionalProperties: { type: "string" },
      }),
    ).toEqual({ type: "object", additionalProperties: { type: "string" } });
    expect(toSwaggerSchema({ $ref: "#/components/schemas/Problem" })).toEqual({
      $ref: "#/definitions/Problem",
    });
  });
});
