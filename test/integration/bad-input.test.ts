import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { problemTypeUri } from "../../shared/domain/problem.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { bearer, call, storageContents } from "../support/http.js";
import { multipartBody } from "../support/multipart.js";

const maxMessageBytes = 200_000;
const { client, key } = testClient({
  senders: ["scanner@contoso.com"],
  defaultSender: "scanner@contoso.com",
});
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  env = await startTestServices([client], {
    env: { MAX_MESSAGE_BYTES: String(maxMessageBytes), MAX_RECIPIENTS_PER_MESSAGE: "500" },
  });
});
afterAll(async () => env?.stop());

// Every refusal leaves nothing behind: no blob, no queue message, no status record.
afterEach(async () => {
  expect(await storageContents(storageConnection(), env.names)).toEqual({ blobs: [], queued: 0, records: 0 });
});

const json = (body: unknown, headers: Record<string, string> = {}) =>
  call(submitMessageRoute, env, {
    headers: bearer(key, { "content-type": "application/json", ...headers }),
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const valid = { to: ["alice@contoso.com"], subject: "Hello", text: "Hi" };

function expectProblem(
  response: Awaited<ReturnType<typeof call>>,
  status: number,
  kind: Parameters<typeof problemTypeUri>[0],
) {
  expect(response.status).toBe(status);
  expect(response.headers["Content-Type"]).toMatch(/^application\/problem\+json/);
  expect(response.json).toMatchObject({ type: problemTypeUri(kind), status });
  expect(String(response.json?.detail)).not.toBe("");
}

function fieldsOf(response: Awaited<ReturnType<typeof call>>): string[] {
  return ((response.json?.errors ?? []) as { field: string }[]).map((e) => e.field);
}

/** 1,000 chunks of 64 KiB, counting how many the server pulled: a body it should never read to the end. */
function countedBody() {
  let chunks = 0;
  const body = new Readable({
    read() {
      chunks++;
      this.push(Buffer.alloc(64 * 1024, 0x20));
      if (chunks >= 1000) this.push(null);
    },
  });
  return { body, pulled: () => chunks };
}

describe("authentication", () => {
  it("answers 401 the same way for a missing key and an unknown key", async () => {
    const missing = await call(submitMessageRoute, env, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(valid),
    });
    const unknown = await call(submitMessageRoute, env, {
      headers: bearer("mh_not_a_real_key", { "content-type": "application/json" }),
      body: JSON.stringify(valid),
    });
    expectProblem(missing, 401, "unauthorized");
    expect(unknown.status).toBe(401);
    expect(unknown.body).toBe(missing.body);
    expect(missing.headers["WWW-Authenticate"]).toContain("Bearer");
  });

  it("refuses a sender the client may not use with 403", async () => {
    const response = await json({ ...valid, from: "ceo@contoso.com" });
    expectProblem(response, 403, "forbiddenSender");
    expect(response.json?.detail).toContain("ceo@contoso.com");
  });
});

describe("JSON body", () => {
  it("answers 400 for malformed JSON", async () => {
    expectProblem(await json('{"to": ["alice@contoso.com"], "subject": '), 400, "badRequest");
  });

  it("answers 415 for a content type other than JSON or multipart", async () => {
    const response = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "text/plain" }),
      body: "to=alice@contoso.com",
    });
    expectProblem(response, 415, "unsupportedMediaType");
  });

  it.each([
    ["missing to", { subject: "x" }, "to"],
    ["missing subject", { to: ["alice@contoso.com"] }, "subject"],
    ["invalid address", { ...valid, to: ["alice@@contoso"] }, "to[0].address"],
    ["CR/LF in subject", { ...valid, subject: "Hi\r\nBcc: victim@example.com" }, "subject"],
    [
      "CR/LF in an address",
      { ...valid, to: ["alice@contoso.com\r\nBcc: victim@example.com"] },
      "to[0].address",
    ],
    [
      "CR/LF in a display name",
      { ...valid, to: [{ address: "alice@contoso.com", name: "A\nB" }] },
      "to[0].name",
    ],
    ["CR/LF in a header name", { ...valid, headers: { "X-A\r\nBcc": "v" } }, "headers.X-A\r\nBcc"],
    [
      "CR/LF in a header value",
      { ...valid, headers: { "X-Ticket": "1\r\nBcc: v@example.com" } },
      "headers.X-Ticket",
    ],
    ["a non X- header", { ...valid, headers: { Subject: "spoof" } }, "headers.Subject"],
    [
      "bad base64",
      { ...valid, attachments: [{ name: "a.pdf", contentBytes: "not base64!!" }] },
      "attachments[0].contentBytes",
    ],
    ["an unknown field", { ...valid, bc: ["oops@contoso.com"] }, "bc"],
  ])("answers 422 naming the field for %s", async (_case, body, field) => {
    const response = await json(body);
    expectProblem(response, 422, "validation");
    expect(fieldsOf(response)).toContain(field);
  });

  it("answers 422 naming the limit for more than 500 recipients", async () => {
    const to = Array.from({ length: 501 }, (_, i) => `user${i}@contoso.com`);
    const response = await json({ ...valid, to });
    expectProblem(response, 422, "validation");
    expect(response.json?.detail).toContain("at most 500");
  });

  it("answers 413 from a declared Content-Length without reading the body", async () => {
    const { body, pulled } = countedBody();
    const response = await call(submitMessageRoute, env, {
      headers: bearer(key, {
        "content-type": "application/json",
        "content-length": String(64 * 1024 * 1000),
      }),
      body,
    });
    expectProblem(response, 413, "tooLarge");
    expect(pulled()).toBeLessThanOrEqual(1);
  });

  it("answers 413 once an undeclared body passes the limit, without reading the rest", async () => {
    const { body, pulled } = countedBody();
    const response = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body,
    });
    expectProblem(response, 413, "tooLarge");
    expect(response.json).toMatchObject({ limitBytes: maxMessageBytes, setting: "MAX_MESSAGE_BYTES" });
    expect(pulled()).toBeLessThan(50);
  });

  it("answers 413 for decoded attachments over MAX_MESSAGE_BYTES", async () => {
    const big = Buffer.alloc(maxMessageBytes + 1, 1).toString("base64");
    const response = await json({ ...valid, attachments: [{ name: "big.bin", contentBytes: big }] });
    expectProblem(response, 413, "tooLarge");
    expect(response.json?.limitBytes).toBe(maxMessageBytes);
  });

  it("gives one 413 text whichever check finds the message too large", async () => {
    const declared = await call(submitMessageRoute, env, {
      headers: bearer(key, {
        "content-type": "application/json",
        "content-length": String(10 * maxMessageBytes),
      }),
      body: "{}",
    });
    const streamed = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: countedBody().body,
    });
    const decoded = await json({
      ...valid,
      attachments: [{ name: "big.bin", contentBytes: Buffer.alloc(maxMessageBytes + 1).toString("base64") }],
    });
    const files = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "multipart/form-data; boundary=b9" }),
      body: multipartBody("b9", [
        { name: "to", value: "alice@contoso.com" },
        { name: "subject", value: "Scan" },
        { name: "file", value: Buffer.alloc(maxMessageBytes + 1), filename: "scan.pdf" },
      ]),
    });
    const details = [declared, streamed, decoded, files].map((r) => [r.status, r.json?.detail]);
    expect(details).toEqual(
      Array(4).fill([
        413,
        "The message is larger than the limit of 200000 bytes (0.2 MiB); the MAX_MESSAGE_BYTES setting raises it.",
      ]),
    );
  });
});

describe("multipart body", () => {
  const form = (body: Buffer | Readable, contentType: string) =>
    call(submitMessageRoute, env, { headers: bearer(key, { "content-type": contentType }), body });

  it("answers 400 for multipart without a boundary", async () => {
    expectProblem(await form(Buffer.from("to=alice"), "multipart/form-data"), 400, "badRequest");
  });

  it("answers 400 for a body truncated mid-file and keeps no blob of it", async () => {
    const full = multipartBody("b1", [
      { name: "to", value: "alice@contoso.com" },
      { name: "subject", value: "Scan" },
      { name: "file", value: Buffer.alloc(100_000, 7), filename: "scan.pdf", type: "application/pdf" },
    ]);
    const truncated = full.subarray(0, full.length - 50_000);
    expectProblem(await form(truncated, "multipart/form-data; boundary=b1"), 400, "badRequest");
  });

  it("answers 422 when fields are missing after the file was already stored, and deletes the file", async () => {
    const body = multipartBody("b2", [
      { name: "file", value: Buffer.alloc(50_000, 7), filename: "scan.pdf", type: "application/pdf" },
      { name: "subject", value: "Scan" },
    ]);
    const response = await form(body, "multipart/form-data; boundary=b2");
    expectProblem(response, 422, "validation");
    expect(fieldsOf(response)).toContain("to");
  });

  it("answers 413 when the files pass MAX_MESSAGE_BYTES while streaming", async () => {
    const body = multipartBody("b3", [
      { name: "to", value: "alice@contoso.com" },
      { name: "subject", value: "Scan" },
      {
        name: "file",
        value: Buffer.alloc(maxMessageBytes + 10, 7),
        filename: "scan.pdf",
        type: "application/pdf",
      },
    ]);
    expectProblem(await form(body, "multipart/form-data; boundary=b3"), 413, "tooLarge");
  });

  it("answers 403 for a disallowed sender given after the file", async () => {
    const body = multipartBody("b4", [
      { name: "to", value: "alice@contoso.com" },
      { name: "subject", value: "Scan" },
      { name: "file", value: Buffer.alloc(10_000, 7), filename: "scan.pdf", type: "application/pdf" },
      { name: "from", value: "someone@fabrikam.com" },
    ]);
    expectProblem(await form(body, "multipart/form-data; boundary=b4"), 403, "forbiddenSender");
  });

  it("answers 400 naming a file part it cannot understand, after storing an earlier one, and keeps nothing", async () => {
    const body = multipartBody("b6", [
      { name: "to", value: "alice@contoso.com" },
      { name: "subject", value: "Scan" },
      { name: "file", value: Buffer.alloc(20_000, 7), filename: "page1.pdf", type: "application/pdf" },
      {
        name: "file2",
        value: "begin 644 page2.pdf",
        filename: "page2.pdf",
        headers: ["Content-Transfer-Encoding: x-uuencode"],
      },
    ]);
    const response = await form(body, "multipart/form-data; boundary=b6");
    expectProblem(response, 400, "badRequest");
    expect(response.json?.detail).toMatch(/Part 4 \(file2\) has Content-Transfer-Encoding "x-uuencode"/);
    expect(fieldsOf(response)).toEqual(["file2"]);
  });

  it("answers 400 for a part with neither a disposition nor a file name", async () => {
    const body = multipartBody("b7", [
      { name: "to", value: "alice@contoso.com" },
      { name: "", value: Buffer.alloc(100, 1), disposition: null, type: "application/pdf" },
    ]);
    const response = await form(body, "multipart/form-data; boundary=b7");
    expectProblem(response, 400, "badRequest");
    expect(response.json).toMatchObject({ part: 2 });
  });

  it("answers 422 for CR/LF smuggled into a form field", async () => {
    const body = multipartBody("b5", [
      { name: "to", value: "alice@contoso.com" },
      { name: "subject", value: "Scan\r\nBcc: victim@example.com" },
    ]);
    const response = await form(body, "multipart/form-data; boundary=b5");
    expectProblem(response, 422, "validation");
    expect(fieldsOf(response)).toContain("subject");
  });
});
