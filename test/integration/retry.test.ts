import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { listMessagesRoute } from "../../shared/api/operations/listMessages.js";
import { retryMessageRoute } from "../../shared/api/operations/retryMessage.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { loadConfig } from "../../shared/config.js";
import { type Composed, composeServices } from "../../shared/host/compose.js";
import { startTestServices, testClient } from "../support/env.js";
import { bearer, call, drainOnce } from "../support/http.js";

// An instance with a wrong SMTP password fails messages permanently (535 5.7.3); a second instance over the
// same storage, with the right password, is where the retried message then goes out.
const { client, key } = testClient();
let broken: Awaited<ReturnType<typeof startTestServices>>;
let fixed: Composed;

beforeAll(async () => {
  broken = await startTestServices([client], { env: { SMTP_PASSWORDS: JSON.stringify({ "*": "wrong" }) } });
  fixed = await composeServices(loadConfig(broken.settings), { storageNames: broken.names });
});
afterAll(async () => {
  await fixed?.close();
  await broken?.stop();
});

describe("dead letters", () => {
  it("keeps a failed message with the provider's answer, lists it, and sends it again on retry", async () => {
    const submitted = await call(submitMessageRoute, broken, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({
        to: ["alice@contoso.com"],
        subject: "Retry me",
        text: "second time lucky",
        attachments: [{ name: "a.txt", contentBytes: Buffer.from("hello").toString("base64") }],
      }),
    });
    const id = String(submitted.json?.id);
    await drainOnce(broken);

    const failed = await call(getMessageRoute, broken, { headers: bearer(key), params: { id } });
    expect(failed.json).toMatchObject({ status: "failed", lastError: { code: "535 5.7.3" } });
    const listed = await call(listMessagesRoute, broken, {
      headers: bearer(key),
      path: "/api/v1/messages?status=failed",
    });
    expect(((listed.json?.messages ?? []) as { id: string }[]).map((m) => m.id)).toContain(id);

    const retried = await call(retryMessageRoute, fixed, {
      method: "POST",
      headers: bearer(key),
      params: { id },
    });
    expect(retried.status).toBe(202);
    expect(retried.json).toMatchObject({ id, status: "queued", reason: `retry requested by ${client.id}` });
    // A second retry while it is queued is refused.
    const again = await call(retryMessageRoute, fixed, {
      method: "POST",
      headers: bearer(key),
      params: { id },
    });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ status: 409, messageStatus: "queued" });

    await drainOnce(fixed);
    const sent = await call(getMessageRoute, fixed, { headers: bearer(key), params: { id } });
    expect(sent.json?.status).toBe("sent");
    expect(await readdir(broken.outboxDir)).toContain(`${id}.eml`);
    expect(await fixed.services.messages.list(id)).toEqual([]);
  });

  it("refuses to retry a message that did not fail, or another client's", async () => {
    const other = testClient();
    const submitted = await call(submitMessageRoute, broken, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({ to: ["alice@contoso.com"], subject: "Queued" }),
    });
    const id = String(submitted.json?.id);
    const queued = await call(retryMessageRoute, broken, {
      method: "POST",
      headers: bearer(key),
      params: { id },
    });
    expect(queued.status).toBe(409);
    expect(queued.json).toMatchObject({ status: 409, messageStatus: "queued" });
    const stranger = await call(retryMessageRoute, broken, {
      method: "POST",
      headers: bearer(other.key),
      params: { id },
    });
    expect(stranger.status).toBe(401); // not a configured client at all
  });
});
