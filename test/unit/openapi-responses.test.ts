import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { problemSchema } from "../../shared/api/openapi/document.js";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { healthRoute } from "../../shared/api/operations/health.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { routeNamed } from "../../shared/api/routes.js";
import { startTestServices, testClient } from "../support/env.js";
import { bearer, call } from "../support/http.js";

// The documented response schemas against what the real handlers answer (Azurite + loopback SMTP).
const { client, key } = testClient();
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  env = await startTestServices([client]);
});
afterAll(async () => env?.stop());

/** Parses with the documented schema; zod drops undocumented fields, so equality means "nothing extra". */
function expectDocumented(schema: z.ZodType | undefined, body: unknown) {
  expect(schema).toBeDefined();
  const parsed = schema!.safeParse(body);
  expect(parsed.error).toBeUndefined();
  expect(parsed.data).toEqual(body);
}

describe("responses match the documented schemas", () => {
  it("202 of Send an email, 200 of Get message status", async () => {
    const submitted = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({ to: "alice@contoso.com", subject: "Hi", text: "x", metadata: { a: "b" } }),
    });
    expect(submitted.status).toBe(202);
    expectDocumented(submitMessageRoute.doc?.responses[202]?.schema, submitted.json);
    const id = String(submitted.json?.id);
    const status = await call(getMessageRoute, env, { headers: bearer(key), params: { id } });
    expect(status.status).toBe(200);
    expectDocumented(getMessageRoute.doc?.responses[200]?.schema, status.json);
  });

  it("problem answers (401, 404, 422) match the Problem schema", async () => {
    const unauthorized = await call(getMessageRoute, env, { params: { id: "x" } });
    expect(unauthorized.status).toBe(401);
    expectDocumented(problemSchema, unauthorized.json);
    const missing = await call(getMessageRoute, env, { headers: bearer(key), params: { id: "nope" } });
    expect(missing.status).toBe(404);
    expectDocumented(problemSchema, missing.json);
    const invalid = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({ to: "not-an-address", subject: "x" }),
    });
    expect(invalid.status).toBe(422);
    expectDocumented(problemSchema, invalid.json);
  });

  it("health and the OpenAPI document need no key", async () => {
    const health = await call(healthRoute, env);
    expect(health.status).toBe(200);
    expectDocumented(healthRoute.doc?.responses[200]?.schema, health.json);
    const openapi = await call(routeNamed("openapi"), env, { path: "/api/v1/openapi.json" });
    expect(openapi.status).toBe(200);
    expect(openapi.json?.openapi).toBe("3.1.0");
    expect(openapi.json?.servers).toEqual([{ url: "http://127.0.0.1:7071/api" }]);
    expect(Object.keys(openapi.json?.paths as object)).toContain("/v1/messages/{id}");
  });
});
