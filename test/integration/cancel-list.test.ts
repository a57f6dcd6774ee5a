import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelMessageRoute } from "../../shared/api/operations/cancelMessage.js";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { listMessagesRoute } from "../../shared/api/operations/listMessages.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { startTestServices, testClient } from "../support/env.js";
import { bearer, call, drainOnce } from "../support/http.js";

const owner = testClient();
const stranger = testClient();
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  env = await startTestServices([owner.client, stranger.client]);
});
afterAll(async () => env?.stop());

async function submit(body: Record<string, unknown> = {}): Promise<string> {
  const response = await call(submitMessageRoute, env, {
    headers: bearer(owner.key, { "content-type": "application/json" }),
    body: JSON.stringify({ to: ["alice@contoso.com"], subject: "Cancel me", ...body }),
  });
  expect(response.status).toBe(202);
  return String(response.json?.id);
}

const cancel = (id: string, key = owner.key) =>
  call(cancelMessageRoute, env, { method: "DELETE", headers: bearer(key), params: { id } });

describe("cancelling", () => {
  it("cancels a queued message, which the dispatcher then never sends", async () => {
    const id = await submit();
    const cancelled = await cancel(id);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({
      id,
      status: "cancelled",
      reason: `cancelled by ${owner.client.id}`,
    });
    await drainOnce(env);
    expect((await readdir(env.outboxDir)).filter((f) => f.startsWith(id))).toEqual([]);
    const record = await call(getMessageRoute, env, { headers: bearer(owner.key), params: { id } });
    expect(record.json?.status).toBe("cancelled");
    expect((await cancel(id)).status).toBe(200); // cancelling twice is harmless
  });

  it("cancels a scheduled message", async () => {
    const id = await submit({ sendAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await cancel(id)).json?.status).toBe("cancelled");
  });

  it("refuses with 409 once the message was sent", async () => {
    const id = await submit();
    await drainOnce(env);
    const refused = await cancel(id);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({
      type: "urn:mailhook:problem:conflict",
      status: 409,
      messageStatus: "sent",
    });
  });

  it("answers 404 for another client's message and for nonsense ids", async () => {
    const id = await submit();
    expect((await cancel(id, stranger.key)).status).toBe(404);
    expect((await cancel("../../etc")).status).toBe(404);
    expect((await call(getMessageRoute, env, { headers: bearer(stranger.key), params: { id } })).status).toBe(
      404,
    );
  });
});

describe("listing", () => {
  it("pages through one client's messages of one status", async () => {
    const ids = [await submit(), await submit(), await submit()];
    for (const id of ids) await cancel(id);
    const seen: string[] = [];
    let path = "/api/v1/messages?status=cancelled&limit=2";
    for (let page = 0; page < 10 && path; page++) {
      const response = await call(listMessagesRoute, env, { headers: bearer(owner.key), path });
      expect(response.status).toBe(200);
      const messages = response.json?.messages as { id: string; status: string }[];
      expect(messages.length).toBeLessThanOrEqual(2);
      for (const m of messages) {
        expect(m.status).toBe("cancelled");
        seen.push(m.id);
      }
      path = response.json?.next
        ? new URL(String(response.json.next)).pathname + new URL(String(response.json.next)).search
        : "";
    }
    expect(seen).toEqual(expect.arrayContaining(ids));
    const theirs = await call(listMessagesRoute, env, {
      headers: bearer(stranger.key),
      path: "/api/v1/messages?status=cancelled",
    });
    expect(theirs.json?.messages).toEqual([]);
  });

  it("answers 422 for an unknown status", async () => {
    const response = await call(listMessagesRoute, env, {
      headers: bearer(owner.key),
      path: "/api/v1/messages?status=lost",
    });
    expect(response.status).toBe(422);
  });
});
