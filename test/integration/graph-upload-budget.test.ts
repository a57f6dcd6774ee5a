import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { getQuotaRoute } from "../../shared/api/operations/getQuota.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { startTestServices, testClient } from "../support/env.js";
import { startFakeGraph } from "../support/fakeGraph.js";
import { bearer, call, drainOnce } from "../support/http.js";
import { multipartBody } from "../support/multipart.js";

// Graph's upload volume limit (150 MB per 5 minutes per app and mailbox), scaled down to 10 MB: three 4 MB
// scans through upload sessions against a loopback Graph that answers 429 past the limit, as Graph does.
const MB = 1_000_000;
const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
});

async function setUp(pacedUploadMb: number) {
  const secret = randomBytes(12).toString("hex");
  const graph = await startFakeGraph({
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    tenantId: "contoso-tenant",
    clientId: "app-uploads",
    clientSecret: secret,
    uploadLimit: { bytes: 10 * MB, windowMs: 5 * 60_000 },
  });
  stops.push(() => graph.stop());
  const { client, key } = testClient({ senders: ["scanner@contoso.com"], transport: "graph" });
  const env = await startTestServices([client], {
    env: {
      ENTRA_TENANT_ID: "contoso-tenant",
      ENTRA_CLIENT_ID: "app-uploads",
      ENTRA_CLIENT_SECRET: secret,
      ENTRA_AUTHORITY_HOST: graph.url,
      GRAPH_ENDPOINT: graph.url,
      GRAPH_UPLOAD_MB_PER_5_MINUTES: String(pacedUploadMb),
    },
  });
  stops.push(() => env.stop());
  return { graph, env, key };
}

async function scan(env: Awaited<ReturnType<typeof setUp>>["env"], key: string, n: number): Promise<string> {
  const boundary = `scan${n}`;
  const response = await call(submitMessageRoute, env, {
    headers: bearer(key, { "content-type": `multipart/form-data; boundary=${boundary}` }),
    body: multipartBody(boundary, [
      { name: "to", value: "alice@contoso.com" },
      { name: "subject", value: `scan ${n}` },
      { name: "file", value: randomBytes(4 * MB), filename: `scan${n}.pdf`, type: "application/pdf" },
    ]),
  });
  expect(response.status).toBe(202);
  return String(response.json?.id);
}

describe("Graph's upload budget in the pacing state", () => {
  it("lets a run of large scans wait for the window instead of being throttled", async () => {
    const { graph, env, key } = await setUp(10);
    const ids = [await scan(env, key, 1), await scan(env, key, 2), await scan(env, key, 3)];
    for (let i = 0; i < 3; i++) await drainOnce(env);
    const records = await Promise.all(
      ids.map(
        async (id) => (await call(getMessageRoute, env, { headers: bearer(key), params: { id } })).json,
      ),
    );
    expect(records.map((r) => r?.status)).toEqual(["sent", "sent", "deferred"]);
    expect(String(records[2]?.reason)).toMatch(
      /Graph's upload limit of 10\.0 MB per 5 minutes .* uploads 4\.0 MB/,
    );
    const waitMs = Date.parse(String(records[2]?.nextAttemptAt)) - Date.now();
    expect(waitMs).toBeGreaterThan(4 * 60_000);
    expect(waitMs).toBeLessThanOrEqual(5 * 60_000 + 2000);
    expect(graph.uploadThrottles()).toBe(0);
    const quota = await call(getQuotaRoute, env, {
      headers: bearer(key),
      params: { address: "scanner@contoso.com" },
    });
    expect(quota.json).toMatchObject({
      limits: { uploadBytesPerWindow: 10 * MB, uploadWindowSeconds: 300 },
      usage: { uploadBytesInWindow: expect.any(Number) },
    });
    const usage = quota.json?.usage as { uploadBytesInWindow?: number } | undefined;
    expect(usage?.uploadBytesInWindow ?? 0).toBeGreaterThan(8 * MB);
  }, 60_000);

  it("(the same run, not paced for uploads, is throttled by Graph)", async () => {
    const { graph, env, key } = await setUp(1000);
    const ids = [await scan(env, key, 1), await scan(env, key, 2), await scan(env, key, 3)];
    for (let i = 0; i < 3; i++) await drainOnce(env);
    const third = (await call(getMessageRoute, env, { headers: bearer(key), params: { id: ids[2]! } })).json;
    expect(third).toMatchObject({ status: "deferred", lastError: { code: "429 ApplicationThrottled" } });
    expect(graph.uploadThrottles()).toBeGreaterThan(0);
  }, 60_000);
});
