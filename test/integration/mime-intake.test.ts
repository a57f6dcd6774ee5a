import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import nodemailer, { type SendMailOptions } from "nodemailer";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { type FakeGraph, startFakeGraph } from "../support/fakeGraph.js";
import { bearer, call, drainOnce, storageContents } from "../support/http.js";

// message/rfc822 over HTTP: the sender's own MIME through intake, the queue and both kinds of transport.
const smtpClient = testClient({ senders: ["scanner@contoso.com"], defaultSender: "scanner@contoso.com" });
const graphClient = testClient({
  senders: ["scanner@contoso.com"],
  defaultSender: "scanner@contoso.com",
  transport: "graph",
  saveToSentItems: false,
});
const tenantId = "contoso-tenant";
const appId = "app-mime";
const secret = randomBytes(16).toString("hex");
let graph: FakeGraph;
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  graph = await startFakeGraph({
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    tenantId,
    clientId: appId,
    clientSecret: secret,
  });
  env = await startTestServices([smtpClient.client, graphClient.client], {
    env: {
      ENTRA_TENANT_ID: tenantId,
      ENTRA_CLIENT_ID: appId,
      ENTRA_CLIENT_SECRET: secret,
      ENTRA_AUTHORITY_HOST: graph.url,
      GRAPH_ENDPOINT: graph.url,
    },
  });
});
afterAll(async () => {
  await env?.stop();
  await graph?.stop();
});

const sha256 = (bytes: Buffer | undefined) =>
  createHash("sha256")
    .update(bytes ?? Buffer.alloc(0))
    .digest("hex");

/** MIME as a mail client builds it (nodemailer's composer). */
async function compose(mail: SendMailOptions): Promise<Buffer> {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const info = await transport.sendMail(mail);
  transport.close();
  return info.message as Buffer;
}

function post(key: string, mime: Buffer | string, headers: Record<string, string> = {}) {
  return call(submitMessageRoute, env, {
    headers: bearer(key, { "content-type": "message/rfc822", ...headers }),
    body: Buffer.isBuffer(mime) ? mime : Buffer.from(mime),
  });
}

async function outboxFile(messageIdLocal: string): Promise<Buffer> {
  const files = await readdir(env.outboxDir);
  const name = files.find((f) => f.startsWith(messageIdLocal));
  expect(name, `no .eml for ${messageIdLocal} in ${files.join(", ")}`).toBeDefined();
  return readFile(join(env.outboxDir, name!));
}

describe("message/rfc822 to an SMTP transport", () => {
  it("passes the device's MIME through byte for byte, the envelope deciding the recipients (Bcc kept hidden)", async () => {
    const mime = [
      "From: Scanner <scanner@contoso.com>",
      "To: alice@contoso.com",
      "Subject: Scan 7",
      "Date: Tue, 01 Dec 2026 09:00:00 +0100",
      "Message-ID: <a1b2c3d4-0001@contoso.com>",
      "X-Device: MFP-3",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=utf-8",
      "",
      "Scanned page attached elsewhere.",
      ".leading dot survives",
      "",
    ].join("\r\n");
    const submitted = await post(smtpClient.key, mime, {
      "mailhook-envelope-from": "scanner@contoso.com",
      "mailhook-envelope-to": "alice@contoso.com, audit@contoso.com",
    });
    expect(submitted.status, JSON.stringify(submitted.json)).toBe(202);
    const id = String(submitted.json?.id);
    const queued = await call(getMessageRoute, env, { headers: bearer(smtpClient.key), params: { id } });
    expect(queued.json).toMatchObject({ status: "queued", recipients: 2, mailbox: "scanner@contoso.com" });
    await drainOnce(env);
    const delivered = await outboxFile("a1b2c3d4-0001");
    expect(delivered.toString()).toBe(mime);
    const sent = await call(getMessageRoute, env, { headers: bearer(smtpClient.key), params: { id } });
    expect(sent.json).toMatchObject({ status: "sent", attempts: 1 });
    expect((await storageContents(storageConnection(), env.names)).blobs).toEqual([]);
  });

  it("adds a Message-ID and a Date only when missing, removes a Bcc header, takes recipients from To/Cc/Bcc", async () => {
    const mime = [
      "From: scanner@contoso.com",
      "To: alice@contoso.com",
      "Bcc: hidden@contoso.com",
      "Subject: no id",
      "",
      "bare LF body",
      "",
    ].join("\n");
    const submitted = await post(smtpClient.key, mime);
    expect(submitted.status, JSON.stringify(submitted.json)).toBe(202);
    const id = String(submitted.json?.id);
    await drainOnce(env);
    const delivered = await outboxFile(id);
    const text = delivered.toString();
    expect(text).toContain(`Message-ID: <${id}@contoso.com>\r\n`);
    expect(text).toMatch(/^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\r$/m);
    expect(text).not.toMatch(/hidden@contoso\.com/);
    expect(text).toContain("\r\nbare LF body\r\n");
    expect(env.sink).toBeDefined();
    const record = await call(getMessageRoute, env, { headers: bearer(smtpClient.key), params: { id } });
    expect(record.json).toMatchObject({ status: "sent", recipients: 2 });
  });

  it("keeps a small MIME inline in its queue message and streams a larger one into Blob storage", async () => {
    const small = await compose({
      from: "scanner@contoso.com",
      to: "alice@contoso.com",
      subject: "s",
      text: "x",
    });
    const large = await compose({
      from: "scanner@contoso.com",
      to: "alice@contoso.com",
      subject: "l",
      attachments: [{ filename: "scan.pdf", content: randomBytes(200_000) }],
    });
    const smallId = String((await post(smtpClient.key, small)).json?.id);
    const largeId = String((await post(smtpClient.key, large)).json?.id);
    expect((await storageContents(storageConnection(), env.names)).blobs).toEqual([`${largeId}/message.eml`]);
    await drainOnce(env);
    for (const id of [smallId, largeId]) {
      const record = await call(getMessageRoute, env, { headers: bearer(smtpClient.key), params: { id } });
      expect(record.json).toMatchObject({ status: "sent" });
    }
    expect((await storageContents(storageConnection(), env.names)).blobs).toEqual([]);
  });

  it("refuses a header block over 1 MiB as unreadable MIME (400)", async () => {
    const answer = await post(
      smtpClient.key,
      `From: scanner@contoso.com\r\nX-Long: ${"a".repeat(1_100_000)}\r\n\r\nx\r\n`,
    );
    expect(answer.status, JSON.stringify(answer.json)).toBe(400);
    expect(answer.json?.detail).toMatch(/not a readable MIME message/);
  });

  it("delivers a multipart/alternative with inline images, attachments byte for byte", async () => {
    const logo = randomBytes(20_000);
    const pdf = randomBytes(120_000);
    const mime = await compose({
      from: "Scanner <scanner@contoso.com>",
      to: "alice@contoso.com",
      subject: "Newsletter",
      text: "plain version",
      html: '<p>Hi <img src="cid:logo@contoso"></p>',
      attachments: [
        { filename: "logo.png", content: logo, cid: "logo@contoso" },
        { filename: "scan.pdf", content: pdf },
      ],
    });
    const submitted = await post(smtpClient.key, mime);
    expect(submitted.status, JSON.stringify(submitted.json)).toBe(202);
    await drainOnce(env);
    const messageId = (await simpleParser(mime)).messageId ?? "";
    const mail = await simpleParser(await outboxFile(messageId.slice(1, 9)), { keepCidLinks: true });
    expect(mail.text?.trim()).toBe("plain version");
    expect(mail.html).toContain("cid:logo@contoso");
    const inline = mail.attachments.find((a) => a.cid === "logo@contoso");
    expect(inline?.related).toBe(true);
    expect(sha256(inline?.content)).toBe(sha256(logo));
    expect(sha256(mail.attachments.find((a) => a.filename === "scan.pdf")?.content)).toBe(sha256(pdf));
  });
});

describe("message/rfc822 to the graph transport", () => {
  it("sends a small message as MIME sendMail, envelope-only recipients in a Bcc header Exchange drops", async () => {
    const mime = await compose({
      from: "Scanner <scanner@contoso.com>",
      to: "alice@contoso.com",
      subject: "Small scan",
      text: "attached",
      attachments: [{ filename: "scan.pdf", content: randomBytes(50_000) }],
    });
    const submitted = await post(graphClient.key, mime, {
      "mailhook-envelope-to": "alice@contoso.com, audit@contoso.com",
    });
    expect(submitted.status, JSON.stringify(submitted.json)).toBe(202);
    const id = String(submitted.json?.id);
    graph.accepted.length = 0;
    await drainOnce(env);
    const [sent] = graph.accepted;
    expect(sent).toMatchObject({
      via: "mime",
      mailbox: "scanner@contoso.com",
      message: {
        toRecipients: [{ emailAddress: { address: "alice@contoso.com" } }],
        bccRecipients: [{ emailAddress: { address: "audit@contoso.com" } }],
      },
    });
    expect(sent?.mime?.toString()).toMatch(/^Bcc: audit@contoso\.com\r\n/);
    expect(sent?.delivered?.toString()).not.toContain("audit@contoso.com");
    // The rest is the device's MIME as it came.
    expect(sent?.mime?.subarray(sent.mime.indexOf("\r\n") + 2).equals(mime)).toBe(true);
    const record = await call(getMessageRoute, env, { headers: bearer(graphClient.key), params: { id } });
    expect(record.json).toMatchObject({ status: "sent" });
    const timeline = (record.json?.timeline ?? []) as { status: string; detail?: string }[];
    expect(timeline.at(-1)?.detail).toContain("Graph's MIME sendMail always saves");
  });

  it("turns a 5 MB message into a draft with an upload session, inline image and recipients intact", async () => {
    const scan = randomBytes(5 * 1024 * 1024);
    const logo = randomBytes(10_000);
    const mime = await compose({
      from: "Scanner <scanner@contoso.com>",
      to: "alice@contoso.com",
      cc: "outsider@fabrikam.com",
      subject: "Big scan",
      text: "plain",
      html: '<p><img src="cid:logo@contoso"> scan attached</p>',
      headers: { "X-Device": "MFP-9" },
      attachments: [
        { filename: "logo.png", content: logo, cid: "logo@contoso" },
        { filename: "scan.pdf", content: scan, contentType: "application/pdf" },
      ],
    });
    // Cc names someone the envelope does not: Graph would deliver to every header recipient, so the
    // composed message keeps only the envelope's.
    const submitted = await post(graphClient.key, mime, {
      "mailhook-envelope-to": "alice@contoso.com, hidden@contoso.com",
    });
    expect(submitted.status, JSON.stringify(submitted.json)).toBe(202);
    graph.accepted.length = 0;
    await drainOnce(env);
    const [sent] = graph.accepted;
    expect(sent?.via).toBe("draft");
    expect(sent?.message).toMatchObject({
      subject: "Big scan",
      body: { contentType: "HTML" },
      toRecipients: [{ emailAddress: { address: "alice@contoso.com" } }],
      ccRecipients: [],
      bccRecipients: [{ emailAddress: { address: "hidden@contoso.com" } }],
      internetMessageHeaders: [{ name: "X-Device", value: "MFP-9" }],
    });
    const byName = new Map(sent?.attachments.map((a) => [a.name, a]));
    expect(byName.get("scan.pdf")?.via).toBe("uploadSession");
    expect(sha256(byName.get("scan.pdf")?.bytes)).toBe(sha256(scan));
    expect(byName.get("logo.png")).toMatchObject({ isInline: true, contentId: "logo@contoso" });
    expect(sha256(byName.get("logo.png")?.bytes)).toBe(sha256(logo));
  }, 60_000);
});

describe("sender rules and refusals for message/rfc822", () => {
  const plain = (from: string, extra: string[] = []) =>
    [`From: ${from}`, "To: alice@contoso.com", "Subject: x", ...extra, "", "body", ""].join("\r\n");

  it.each([
    ["a foreign From", plain("ceo@fabrikam.com"), {}, 403, "From"],
    [
      "a display name naming another address",
      plain('"ceo@contoso.com" <scanner@contoso.com>'),
      {},
      403,
      "From",
    ],
    [
      "a foreign envelope sender",
      plain("scanner@contoso.com"),
      { "mailhook-envelope-from": "ceo@contoso.com" },
      403,
      "Mailhook-Envelope-From",
    ],
    ["a foreign Sender header", plain("scanner@contoso.com", ["Sender: ceo@contoso.com"]), {}, 403, "Sender"],
    ["two From addresses", plain("scanner@contoso.com, ceo@contoso.com"), {}, 422, "From"],
    ["no From header", "To: alice@contoso.com\r\nSubject: x\r\n\r\nbody\r\n", {}, 422, "From"],
    [
      "no recipient anywhere",
      "From: scanner@contoso.com\r\nSubject: x\r\n\r\nbody\r\n",
      {},
      422,
      "Mailhook-Envelope-To",
    ],
    [
      "a malformed envelope recipient",
      plain("scanner@contoso.com"),
      { "mailhook-envelope-to": "alice@" },
      422,
      "Mailhook-Envelope-To",
    ],
    ["an empty body", "", {}, 400, "body"],
  ])("refuses %s, leaving nothing behind", async (_name, mime, headers, status, field) => {
    const before = await storageContents(storageConnection(), env.names);
    const answer = await post(smtpClient.key, mime, headers as Record<string, string>);
    expect(answer.status, JSON.stringify(answer.json)).toBe(status);
    expect(answer.headers["Content-Type"]).toMatch(/^application\/problem\+json/);
    const named = answer.json?.field ?? (answer.json?.errors as { field: string }[] | undefined)?.[0]?.field;
    expect(named).toBe(field);
    expect(await storageContents(storageConnection(), env.names)).toEqual(before);
  });

  it("refuses envelope headers on a JSON message", async () => {
    const json = await call(submitMessageRoute, env, {
      headers: bearer(smtpClient.key, {
        "content-type": "application/json",
        "mailhook-envelope-to": "audit@contoso.com",
      }),
      body: JSON.stringify({ to: "alice@contoso.com", subject: "x", text: "y" }),
    });
    expect(json.status).toBe(422);
    expect(json.json?.detail).toMatch(/^Mailhook-Envelope-To: applies to message\/rfc822/);
  });

  it("refuses a MIME body over the limit with 413 as it streams, storing nothing", async () => {
    const small = await startTestServices([smtpClient.client], { env: { MAX_MESSAGE_BYTES: "1000" } });
    try {
      const big = Buffer.concat([
        Buffer.from("From: scanner@contoso.com\r\nTo: alice@contoso.com\r\nSubject: big\r\n\r\n"),
        Buffer.alloc(3 * 1024 * 1024, "a"),
      ]);
      const answer = await call(submitMessageRoute, small, {
        headers: bearer(smtpClient.key, { "content-type": "message/rfc822" }),
        body: big,
      });
      expect(answer.status).toBe(413);
      expect(await storageContents(storageConnection(), small.names)).toMatchObject({
        blobs: [],
        records: 0,
      });
    } finally {
      await small.stop();
    }
  });
});

describe("a device's retry of the same message (derived Idempotency-Key)", () => {
  const derive = { "mailhook-derive-idempotency-key": "true", "mailhook-envelope-to": "alice@contoso.com" };
  const mime = (body: string, messageId = "<retry-1@contoso.com>") =>
    [
      "From: scanner@contoso.com",
      "To: alice@contoso.com",
      "Subject: retry",
      ...(messageId ? [`Message-ID: ${messageId}`] : []),
      "",
      body,
      "",
    ].join("\r\n");

  it("answers the same id for the same Message-ID, envelope and bytes, and a new one when the bytes differ", async () => {
    const first = await post(smtpClient.key, mime("one"), derive);
    const again = await post(smtpClient.key, mime("one"), derive);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.json?.id).toBe(first.json?.id);
    expect(again.headers["Idempotent-Replayed"]).toBe("true");
    const changed = await post(smtpClient.key, mime("two"), derive);
    expect(changed.status).toBe(202);
    expect(changed.json?.id).not.toBe(first.json?.id);
    const otherEnvelope = await post(smtpClient.key, mime("one"), {
      ...derive,
      "mailhook-envelope-to": "alice@contoso.com, bob@contoso.com",
    });
    expect(otherEnvelope.json?.id).not.toBe(first.json?.id);
    await drainOnce(env);
  });

  it("derives no key for a message without a Message-ID of its own: two sends are two messages", async () => {
    const first = await post(smtpClient.key, mime("same", ""), derive);
    const second = await post(smtpClient.key, mime("same", ""), derive);
    expect(second.json?.id).not.toBe(first.json?.id);
    expect(second.headers["Idempotent-Replayed"]).toBeUndefined();
    await drainOnce(env);
  });
});
