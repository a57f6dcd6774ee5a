import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EdgeApi } from "../../cli/edge/apiClient.js";
import { serveRoutes } from "../../dev/httpServer.js";
import { routes } from "../../shared/api/routes.js";
import { silentLogger } from "../../shared/log.js";
import { startTestServices, testClient } from "../support/env.js";

// The edge's client of the API against the real route table (in process, Azurite behind it).
const { client, key } = testClient({ senders: ["scanner@contoso.com"] });
let env: Awaited<ReturnType<typeof startTestServices>>;
let api: EdgeApi;
let close: () => void;

beforeAll(async () => {
  env = await startTestServices([client]);
  const served = await serveRoutes(routes, "", env.services, silentLogger, 0);
  api = new EdgeApi(`${served.url}/api`);
  close = () => served.server.close();
});
afterAll(async () => {
  api?.close();
  close?.();
  await env?.stop();
});

/** A DATA stream as smtp-server hands it over: bytes arriving over time. */
function data(chunks: number, chunkBytes = 64 * 1024) {
  const stream = new PassThrough();
  (async () => {
    stream.write("From: scanner@contoso.com\r\nTo: alice@contoso.com\r\nSubject: edge api\r\n\r\n");
    for (let i = 0; i < chunks; i++) {
      if (!stream.write(Buffer.alloc(chunkBytes, "a")))
        await new Promise((resolve) => stream.once("drain", resolve));
    }
    stream.end();
  })();
  return stream;
}

describe("the edge's API client", () => {
  it("answers who a key is and what it may send as", async () => {
    expect(await api.identity(key, "scanner@contoso.com")).toMatchObject({
      kind: "ok",
      value: { clientId: client.id, sender: { address: "scanner@contoso.com", allowed: true } },
    });
    expect(await api.identity(key, "ceo@contoso.com")).toMatchObject({
      kind: "ok",
      value: {
        sender: { allowed: false, reason: expect.stringContaining("may not send as ceo@contoso.com") },
      },
    });
    expect(await api.identity("mh_not_a_key_at_all")).toMatchObject({ kind: "refused", status: 401 });
  });

  it("hands a refusal given before the body ended back, and still reads the DATA to its end", async () => {
    const stream = data(80);
    const answer = await api.submit("mh_not_a_key_at_all", stream, {
      from: "scanner@contoso.com",
      recipients: ["alice@contoso.com"],
    });
    expect(answer).toMatchObject({ kind: "refused", status: 401 });
    await new Promise((resolve) => (stream.readableEnded ? resolve(undefined) : stream.once("end", resolve)));
    expect(stream.readableEnded).toBe(true);
  });

  it("submits a streamed message with its envelope", async () => {
    const answer = await api.submit(key, data(4), {
      from: "scanner@contoso.com",
      recipients: ["alice@contoso.com"],
    });
    expect(answer).toMatchObject({ kind: "ok", value: { id: expect.any(String) } });
  });

  it("says the API is unavailable when nothing listens", async () => {
    const nowhere = new EdgeApi("http://127.0.0.1:1/api");
    expect(await nowhere.identity(key)).toMatchObject({
      kind: "unavailable",
      reason: expect.stringContaining("ECONNREFUSED"),
    });
    nowhere.close();
  });
});
