import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { call, storageContents } from "../support/http.js";
import { type FormPart, multipartBody } from "../support/multipart.js";

// Hostile and malformed requests: every answer is a 202 for a valid message or a 4xx problem+json, never a
// 5xx or a crash, and storage ends up holding exactly the accepted messages (nothing half-stored).
const { client, key } = testClient({ senders: ["*@contoso.com"] });
let env: Awaited<ReturnType<typeof startTestServices>>;
const accepted = new Set<string>();

beforeAll(async () => {
  env = await startTestServices([client], { env: { MAX_MESSAGE_BYTES: "60000" } });
});
afterAll(async () => env?.stop());

async function send(headers: Record<string, string>, body: Buffer | string) {
  const response = await call(submitMessageRoute, env, {
    headers: { authorization: `Bearer ${key}`, ...headers },
    body,
  });
  if (response.status === 202) {
    accepted.add(String(response.json?.id));
  } else {
    expect(response.status, response.body).toBeGreaterThanOrEqual(400);
    expect(response.status, response.body).toBeLessThan(500);
    expect(response.headers["Content-Type"]).toMatch(/^application\/problem\+json/);
    expect(typeof response.json?.detail).toBe("string");
  }
}

const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.constantFrom(
    "\r\n",
    "\u0000",
    "\r\nBcc: victim@example.com",
    "=?utf-8?b?AA==?=",
    "a@b.c\r\n",
    "\uFFFF",
    "\uD800",
  ),
  fc.string({ minLength: 1000, maxLength: 5000 }),
);
const maybeAddress = fc.oneof(fc.emailAddress(), nasty, fc.constant("Alice <alice@contoso.com>"));
const anyValue = fc.oneof(
  nasty,
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(nasty, { maxLength: 3 }),
);

const messageLike = fc.record(
  {
    from: fc.oneof(maybeAddress, fc.constant("scanner@contoso.com")),
    to: fc.oneof(fc.array(maybeAddress, { maxLength: 4 }), maybeAddress, anyValue),
    cc: fc.array(maybeAddress, { maxLength: 3 }),
    subject: fc.oneof(nasty, anyValue),
    text: nasty,
    html: nasty,
    headers: fc.dictionary(fc.oneof(fc.constant("X-Ok"), nasty), fc.oneof(nasty, anyValue), { maxKeys: 4 }),
    attachments: fc.array(
      fc.record({
        name: nasty,
        contentType: fc.oneof(fc.constant("application/pdf"), nasty),
        contentBytes: fc.oneof(fc.base64String({ maxLength: 200 }), nasty, fc.constant({ $content: "AAAA" })),
      }),
      { maxLength: 3 },
    ),
    importance: fc.oneof(fc.constantFrom("low", "normal", "high"), nasty),
    sendAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      nasty,
    ),
    metadata: fc.dictionary(nasty, anyValue, { maxKeys: 3 }),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

describe("intake under hostile input", () => {
  // 1,500 to 2,000 runs each: bounded by count; the time allowed covers a loaded machine.
  const fuzzTimeoutMs = 120_000;

  it(
    "answers every mangled JSON message with 202 or a 4xx problem",
    async () => {
      await fc.assert(
        fc.asyncProperty(messageLike, fc.nat(100), fc.boolean(), async (message, cut, truncate) => {
          const text = JSON.stringify(message);
          await send(
            { "content-type": "application/json" },
            truncate ? text.slice(0, Math.floor((text.length * cut) / 100)) : text,
          );
        }),
        { numRuns: 2000 },
      );
    },
    fuzzTimeoutMs,
  );

  it(
    "answers random bytes and content types with a 4xx problem",
    async () => {
      const contentType = fc.oneof(
        fc.constantFrom(
          "application/json",
          "multipart/form-data",
          "multipart/form-data; boundary=",
          "text/plain",
        ),
        fc.constantFrom("application/json; charset=latin1", "multipart/form-data; boundary=x"),
        fc.string({ maxLength: 300 }).filter((s) => /^[\t\x20-\x7e]*$/.test(s)),
      );
      await fc.assert(
        fc.asyncProperty(contentType, fc.uint8Array({ maxLength: 4000 }), async (type, bytes) => {
          await send({ "content-type": type }, Buffer.from(bytes));
        }),
        { numRuns: 1500 },
      );
    },
    fuzzTimeoutMs,
  );

  it(
    "answers mangled multipart uploads with 202 or a 4xx problem",
    async () => {
      const part: fc.Arbitrary<FormPart> = fc.record({
        name: fc.oneof(
          fc.constantFrom("to", "cc", "subject", "text", "from", "file", "X-Id", "metadata.k"),
          nasty,
        ),
        value: fc.oneof(
          maybeAddress,
          nasty,
          fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
        ),
        filename: fc.option(nasty, { nil: undefined }),
        type: fc.option(fc.oneof(fc.constant("application/pdf"), nasty), { nil: undefined }),
      });
      await fc.assert(
        fc.asyncProperty(
          fc.array(part, { maxLength: 6 }),
          fc.boolean(),
          fc.nat(100),
          fc.stringMatching(/^[A-Za-z0-9'()+_,./:=?-]{1,70}$/),
          async (parts, truncate, cut, boundary) => {
            const withRecipient = [
              { name: "to", value: "alice@contoso.com" },
              { name: "subject", value: "s" },
              ...parts,
            ];
            const body = multipartBody(boundary, withRecipient, { close: !truncate });
            const sent = truncate ? body.subarray(0, Math.floor((body.length * cut) / 100)) : body;
            // Quote the boundary when it holds characters a token may not.
            await send({ "content-type": `multipart/form-data; boundary="${boundary}"` }, sent);
          },
        ),
        { numRuns: 1500 },
      );
    },
    fuzzTimeoutMs,
  );

  it("stores exactly the accepted messages and nothing of the refused ones", async () => {
    const { blobs, queued, records } = await storageContents(storageConnection(), env.names);
    expect(accepted.size).toBeGreaterThan(0);
    expect(records).toBe(accepted.size);
    expect(queued).toBe(accepted.size);
    for (const blob of blobs) expect(accepted.has(blob.split("/")[0] ?? "")).toBe(true);
  });
});
