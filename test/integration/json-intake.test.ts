import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { BlobServiceClient } from "@azure/storage-blob";
import { simpleParser } from "mailparser";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { purgeExpired } from "../../shared/app/purgeExpired.js";
import { problemTypeUri } from "../../shared/domain/problem.js";
import { silentLogger } from "../../shared/log.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { bearer, call, drainOnce, storageContents } from "../support/http.js";

// Streamed JSON intake against Azurite: attachments' bytes go to Blob storage as they arrive, the fields are
// checked at the end, and a refused message leaves nothing, wherever in the body the reason was.
const MiB = 1024 * 1024;
const maxMessageBytes = 8 * MiB;
const { client, key } = testClient({
  senders: ["scanner@contoso.com"],
  defaultSender: "scanner@contoso.com",
});
type Services = Awaited<ReturnType<typeof startTestServices>>;

const start = () => startTestServices([client], { env: { MAX_MESSAGE_BYTES: String(maxMessageBytes) } });
const post = (env: Services, body: string | Buffer | Readable, headers: Record<string, string> = {}) =>
  call(submitMessageRoute, env, {
    headers: bearer(key, { "content-type": "application/json", ...headers }),
    body,
  });
const fieldsOf = (response: Awaited<ReturnType<typeof post>>) =>
  ((response.json?.errors ?? []) as { field: string }[]).map((e) => e.field);

/**
 * A body that arrives in 64 KiB chunks: `head`, then up to `chunks` chunks of base64 from `chunk(i)`, then
 * `tail`, counting how many the server pulled.
 */
function arriving(head: string, chunk: (i: number) => string, chunks: number, tail = "") {
  let pulled = 0;
  const body = new Readable({
    read() {
      if (pulled === 0) this.push(head);
      if (pulled < chunks) this.push(chunk(pulled));
      else {
        this.push(tail);
        this.push(null);
      }
      pulled++;
    },
  });
  return { body, pulled: () => pulled };
}
const base64Chunk = () => "QUJD".repeat(16 * 1024);
const attachmentHead = (more = "") =>
  `{"subject": "Scan", ${more}"attachments": [{"name": "scan.pdf", "contentBytes": "`;

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("accepted JSON messages", () => {
  let env: Services;
  beforeAll(async () => {
    env = await start();
  });
  afterAll(async () => env?.stop());

  async function delivered(id: string) {
    expect(await drainOnce(env)).toBe(1);
    expect(await readdir(env.outboxDir)).toContain(`${id}.eml`);
    return simpleParser(await readFile(join(env.outboxDir, `${id}.eml`)));
  }

  it("takes attachments before to and subject, and keeps a small one inline in the queue message", async () => {
    const pdf = randomBytes(20_000);
    const response = await post(
      env,
      JSON.stringify({
        attachments: [
          { contentBytes: pdf.toString("base64"), name: "a.pdf", contentType: "application/pdf" },
        ],
        subject: "Attachments first",
        to: "alice@contoso.com",
      }),
    );
    expect(response.status, response.body).toBe(202);
    const id = String(response.json?.id);
    // No Blob request for a message that fits a queue message, as before streaming.
    expect((await storageContents(storageConnection(), env.names)).blobs).toEqual([]);
    const mail = await delivered(id);
    expect(mail.subject).toBe("Attachments first");
    expect(mail.attachments[0]?.content.equals(pdf)).toBe(true);
  });

  it("streams a large Power Automate file object into Blob storage and delivers it byte-identical", async () => {
    const scan = randomBytes(6 * MiB);
    // $content-type after $content, to and the rest after the bytes: nothing is known when they arrive.
    const body =
      `{"subject": "Big scan", "attachments": [{"name": "scan.pdf", "contentBytes": {"$content": "` +
      `${scan.toString("base64").replace(/(.{76})/g, "$1\\r\\n")}", "$content-type": "application/pdf"}}],` +
      ` "to": ["alice@contoso.com"]}`;
    const response = await post(env, body);
    expect(response.status, response.body).toBe(202);
    const id = String(response.json?.id);
    const container = BlobServiceClient.fromConnectionString(storageConnection()).getContainerClient(
      env.names.container,
    );
    const stored = await container.getBlobClient(`${id}/attachments/0`).downloadToBuffer();
    expect(sha256(stored)).toBe(sha256(scan));

    const mail = await delivered(id);
    expect(mail.attachments.map((a) => [a.filename, a.contentType, a.size])).toEqual([
      ["scan.pdf", "application/pdf", scan.length],
    ]);
    expect(sha256(mail.attachments[0]?.content ?? Buffer.alloc(0))).toBe(sha256(scan));
    expect((await storageContents(storageConnection(), env.names)).blobs).toEqual([]);
  });

  it("answers a retry of a streamed message with the same id and keeps one copy of its bytes", async () => {
    const scan = randomBytes(5 * MiB).toString("base64");
    const message = JSON.stringify({
      to: "alice@contoso.com",
      subject: "Retry",
      attachments: [{ name: "a.bin", contentBytes: scan }],
    });
    const first = await post(env, message, { "idempotency-key": "streamed-retry" });
    const again = await post(env, message, { "idempotency-key": "streamed-retry" });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.json?.id).toBe(first.json?.id);
    expect(again.headers["Idempotent-Replayed"]).toBe("true");
    expect((await storageContents(storageConnection(), env.names)).blobs).toEqual([
      `${first.json?.id}/attachments/0`,
    ]);
    await delivered(String(first.json?.id));
  });
});

describe("refused JSON messages leave nothing", () => {
  let env: Services;
  beforeAll(async () => {
    env = await start();
  });
  afterAll(async () => env?.stop());
  afterEach(async () => {
    expect(await storageContents(storageConnection(), env.names)).toEqual({
      blobs: [],
      queued: 0,
      records: 0,
    });
  });

  const large = () => randomBytes(5 * MiB).toString("base64");

  it.each([
    ["an invalid recipient", { to: ["alice@@contoso"] }, 422, "to[0].address"],
    ["no recipient at all", {}, 422, "to"],
    ["a sender the client may not use", { to: "alice@contoso.com", from: "ceo@contoso.com" }, 403, undefined],
  ])(
    "deletes an attachment already in Blob storage when %s comes after it",
    async (_case, fields, status, field) => {
      const body = JSON.stringify({
        subject: "s",
        attachments: [{ name: "a.bin", contentBytes: large() }],
        ...fields,
      });
      const response = await post(env, body);
      expect(response.status, response.body).toBe(status);
      if (field) expect(fieldsOf(response)).toContain(field);
    },
  );

  it.each([
    ["a base64 string", attachmentHead('"to": "alice@contoso.com", '), "attachments[0].contentBytes"],
    [
      "a Power Automate file object",
      `{"to": "alice@contoso.com", "subject": "s", "attachments": [{"name": "a", "contentBytes": {"$content": "`,
      "attachments[0].contentBytes.$content",
    ],
  ])(
    "answers bad base64 in the middle of %s with 422 naming the field, without reading on",
    async (_case, head, field) => {
      // 48 chunks (3 MiB of base64) are good, the 49th holds a "!", and 950 more would follow.
      const { body, pulled } = arriving(
        head,
        (i) => (i === 48 ? `${"QUJD".repeat(8)}!${"A".repeat(65_503)}` : base64Chunk()),
        1000,
      );
      const response = await post(env, body);
      expect(response.status, response.body).toBe(422);
      expect(response.json?.type).toBe(problemTypeUri("validation"));
      expect(fieldsOf(response)).toEqual([field]);
      expect(pulled()).toBeLessThan(60);
    },
  );

  it("answers 413 once decoded attachments pass MAX_MESSAGE_BYTES, without reading the rest", async () => {
    const { body, pulled } = arriving(
      attachmentHead('"to": "alice@contoso.com", '),
      base64Chunk,
      1000,
      '"}]}',
    );
    const response = await post(env, body);
    expect(response.status, response.body).toBe(413);
    expect(response.json).toMatchObject({ limitBytes: maxMessageBytes, setting: "MAX_MESSAGE_BYTES" });
    // 8 MiB decoded is 10.7 MB of base64: about 171 chunks of the 1,000.
    expect(pulled()).toBeLessThan(180);
  });

  it("answers 400 for a body that ends inside an attachment", async () => {
    // 100 chunks decode to 4.7 MiB: past what is kept in memory, so an upload is under way when it ends.
    const { body } = arriving(attachmentHead('"to": "alice@contoso.com", '), base64Chunk, 100);
    const response = await post(env, body);
    expect(response.status, response.body).toBe(400);
    expect(response.json?.type).toBe(problemTypeUri("badRequest"));
  });

  it("answers 400 for a body that is not UTF-8", async () => {
    const response = await post(env, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]));
    expect(response.status, response.body).toBe(400);
  });

  it("refuses a key given twice, also a second contentBytes after the first was stored", async () => {
    const to = await post(env, '{"to": "alice@contoso.com", "subject": "s", "to": "mallory@fabrikam.com"}');
    expect(to.status).toBe(422);
    expect(fieldsOf(to)).toEqual(["to"]);
    const bytes = await post(
      env,
      `{"to": "alice@contoso.com", "subject": "s", "attachments": [{"name": "a", "contentBytes": "${large()}", "contentBytes": "AAAA"}]}`,
    );
    expect(bytes.status).toBe(422);
    expect(fieldsOf(bytes)).toEqual(["attachments[0].contentBytes"]);
  });

  it("names the bound a hostile body passes: depth, values, text outside attachments, attachments", async () => {
    const deep = await post(
      env,
      `{"to": "alice@contoso.com", "subject": "s", "metadata": ${"[".repeat(5000)}`,
    );
    expect(deep.status).toBe(422);
    expect(fieldsOf(deep)).toEqual([`metadata${"[0]".repeat(15)}`]);
    expect(deep.json?.detail).toContain("deeper than 16 levels");

    const many = await post(
      env,
      `{"subject": "s", "cc": [${Array(5000).fill('"a@contoso.com"').join(",")}]}`,
    );
    expect(many.status).toBe(422);
    expect(many.json?.detail).toContain("3000 values");

    const text = await post(
      env,
      JSON.stringify({ to: "alice@contoso.com", subject: "s", html: "x".repeat(5 * MiB) }),
    );
    expect(text.status).toBe(422);
    expect(fieldsOf(text)).toEqual(["html"]);
    expect(text.json?.detail).toContain("4194304 characters");

    const attachments = Array.from({ length: 101 }, (_, i) => ({ name: `${i}.txt`, contentBytes: "QUJD" }));
    const tooMany = await post(env, JSON.stringify({ attachments, to: "alice@contoso.com", subject: "s" }));
    expect(tooMany.status).toBe(422);
    expect(fieldsOf(tooMany)).toEqual(["attachments"]);
  });
});

describe("what a crash left", () => {
  let env: Services;
  beforeAll(async () => {
    env = await start();
  });
  afterAll(async () => env?.stop());

  it("is swept a day later, while accepted messages keep their blobs", async () => {
    const accepted = await post(
      env,
      JSON.stringify({
        to: "alice@contoso.com",
        subject: "Scheduled",
        sendAt: new Date(Date.now() + 20 * 24 * 3600_000).toISOString(),
        attachments: [{ name: "a.bin", contentBytes: randomBytes(5 * MiB).toString("base64") }],
      }),
    );
    expect(accepted.status, accepted.body).toBe(202);
    // An intake that died mid-request: its attachment is in Blob storage, no record names it.
    await env.services.messages.upload("crashed-intake/attachments/0", randomBytes(1000), "application/pdf");
    const purgeAt = (offsetMs: number) =>
      purgeExpired({
        ...env.services,
        clock: { now: () => new Date(Date.now() + offsetMs) },
        log: silentLogger,
      });

    expect((await purgeAt(0)).leftovers).toBe(0);
    expect(await env.services.messages.list("crashed-intake")).toHaveLength(1);
    expect((await purgeAt(25 * 3600_000)).leftovers).toBe(1);
    expect(await env.services.messages.list("crashed-intake")).toEqual([]);
    expect(await env.services.messages.list(String(accepted.json?.id))).toHaveLength(1);
    const blob = await env.services.messages.download(`${accepted.json?.id}/attachments/0`);
    expect((await buffer(blob)).length).toBe(5 * MiB);
  });
});
