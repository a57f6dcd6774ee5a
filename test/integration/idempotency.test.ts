import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { bearer, call, storageContents } from "../support/http.js";
import { multipartBody } from "../support/multipart.js";

const first = testClient();
const second = testClient();
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  env = await startTestServices([first.client, second.client]);
});
afterAll(async () => env?.stop());

const post = (key: string, idempotencyKey: string, body: unknown) =>
  call(submitMessageRoute, env, {
    headers: bearer(key, { "content-type": "application/json", "idempotency-key": idempotencyKey }),
    body: JSON.stringify(body),
  });

const scan = (boundary: string, idempotencyKey: string) =>
  call(submitMessageRoute, env, {
    headers: bearer(first.key, {
      "content-type": `multipart/form-data; boundary=${boundary}`,
      "idempotency-key": idempotencyKey,
    }),
    body: multipartBody(boundary, [
      { name: "to", value: "alice@contoso.com" },
      { name: "subject", value: "Scan" },
      { name: "file", value: Buffer.alloc(20_000, 9), filename: "scan.pdf", type: "application/pdf" },
    ]),
  });

describe("Idempotency-Key", () => {
  it("answers a retry of the same message with the original id and enqueues once", async () => {
    const before = await storageContents(storageConnection(), env.names);
    const message = {
      to: ["alice@contoso.com"],
      subject: "Reminder",
      text: "Tomorrow 9:00",
      metadata: { a: "1" },
    };
    const original = await post(first.key, "reminder-1", message);
    // Same content, fields in another order: still the same message.
    const { metadata, text, subject, to } = message;
    const retry = await post(first.key, "reminder-1", { metadata, text, subject, to });
    expect(original.status).toBe(202);
    expect(retry.status).toBe(202);
    expect(retry.json?.id).toBe(original.json?.id);
    expect(retry.headers["Idempotent-Replayed"]).toBe("true");
    expect(retry.headers.Location).toBe(original.headers.Location);
    const after = await storageContents(storageConnection(), env.names);
    expect(after.queued - before.queued).toBe(1);
    expect(after.records - before.records).toBe(1);
  });

  it("treats a multipart retry with a new boundary as the same message, keeping one copy of the file", async () => {
    const original = await scan("boundary-one", "scan-7");
    const retry = await scan("another-boundary-two", "scan-7");
    expect(retry.json?.id).toBe(original.json?.id);
    const { blobs } = await storageContents(storageConnection(), env.names);
    expect(blobs.filter((b) => b.endsWith("/attachments/0"))).toEqual([`${original.json?.id}/attachments/0`]);
  });

  it("answers 409 naming the conflict when the key is reused for a different message", async () => {
    const original = await post(first.key, "invoice-9", { to: ["a@contoso.com"], subject: "Invoice 9" });
    const different = await post(first.key, "invoice-9", { to: ["a@contoso.com"], subject: "Invoice 10" });
    expect(different.status).toBe(409);
    expect(different.headers["Content-Type"]).toMatch(/problem\+json/);
    expect(different.json).toMatchObject({ field: "Idempotency-Key", messageId: original.json?.id });
  });

  it("keeps keys per client", async () => {
    const body = { to: ["a@contoso.com"], subject: "Same key, other client" };
    const mine = await post(first.key, "shared-key", body);
    const theirs = await post(second.key, "shared-key", body);
    expect(theirs.status).toBe(202);
    expect(theirs.json?.id).not.toBe(mine.json?.id);
  });

  it("lets 20 concurrent identical requests produce exactly one message", async () => {
    const before = await storageContents(storageConnection(), env.names);
    const body = { to: ["burst@contoso.com"], subject: "Race", text: "one winner" };
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(first.key, "race-1", body)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
    expect(new Set(answers.map((a) => a.json?.id)).size).toBe(1);
    const after = await storageContents(storageConnection(), env.names);
    expect(after.queued - before.queued).toBe(1);
    expect(after.records - before.records).toBe(1);
  });

  it("refuses a key longer than 255 characters or with control characters", async () => {
    const body = { to: ["a@contoso.com"], subject: "x" };
    expect((await post(first.key, "k".repeat(256), body)).status).toBe(422);
    expect((await post(first.key, "k".repeat(255), body)).status).toBe(202);
  });
});
