import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { bearer, call, drainOnce, storageContents } from "../support/http.js";
import { multipartBody } from "../support/multipart.js";

const { client, key } = testClient();
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  env = await startTestServices([client]);
});
afterAll(async () => env?.stop());

async function readEml(id: string) {
  const files = await readdir(env.outboxDir);
  expect(files).toContain(`${id}.eml`);
  return simpleParser(await readFile(join(env.outboxDir, `${id}.eml`)));
}

describe("submit, queue and deliver", () => {
  it("delivers a JSON message with a base64 attachment and reports it sent", async () => {
    const pdf = Buffer.from("%PDF-1.4 test document \u0000\u0001 binary");
    const submitted = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({
        to: ["Alice <alice@contoso.com>"],
        cc: [{ address: "carol@fabrikam.com", name: "Carol" }],
        subject: "Invoice 42",
        text: "Please find the invoice attached.",
        attachments: [
          { name: "invoice.pdf", contentType: "application/pdf", contentBytes: pdf.toString("base64") },
        ],
        metadata: { invoice: "42" },
      }),
    });
    expect(submitted.status).toBe(202);
    const id = String(submitted.json?.id);
    expect(submitted.json?.status).toBe("queued");
    expect(submitted.headers.Location).toBe(`http://127.0.0.1:7071/api/v1/messages/${id}`);

    const queued = await call(getMessageRoute, env, { headers: bearer(key), params: { id } });
    expect(queued.json).toMatchObject({
      id,
      status: "queued",
      transport: "smtp",
      attempts: 0,
      recipients: 2,
    });

    expect(await drainOnce(env)).toBe(1);
    const mail = await readEml(id);
    expect(mail.subject).toBe("Invoice 42");
    expect(mail.from?.text).toBe("scanner@contoso.com");
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value : []).toEqual([
      { address: "alice@contoso.com", name: "Alice" },
    ]);
    expect(mail.text?.trim()).toBe("Please find the invoice attached.");
    expect(mail.messageId).toBe(`<${id}@contoso.com>`);
    expect(mail.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ["invoice.pdf", "application/pdf"],
    ]);
    expect(mail.attachments[0]?.content.equals(pdf)).toBe(true);

    const sent = await call(getMessageRoute, env, { headers: bearer(key), params: { id } });
    expect(sent.json).toMatchObject({ id, status: "sent", attempts: 1, metadata: { invoice: "42" } });
    expect(((sent.json?.timeline ?? []) as { status: string }[]).map((t) => t.status)).toEqual([
      "queued",
      "sending",
      "sent",
    ]);
  });

  it("streams a multipart scan into Blob storage, delivers it byte-identical and deletes the blobs", async () => {
    const scan = Buffer.alloc(300_000);
    for (let i = 0; i < scan.length; i++) scan[i] = (i * 31 + 7) % 256;
    const boundary = "----scanner-boundary-1";
    const submitted = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": `multipart/form-data; boundary=${boundary}` }),
      body: multipartBody(boundary, [
        { name: "to", value: "alice@contoso.com, bob@contoso.com" },
        { name: "subject", value: "Scan from MFP-3" },
        { name: "file", value: scan, filename: "C:\\scans\\scan 001.pdf", type: "application/pdf" },
      ]),
    });
    expect(submitted.status).toBe(202);
    const id = String(submitted.json?.id);
    expect((await storageContents(storageConnection(), env.names)).blobs).toEqual([`${id}/attachments/0`]);

    await drainOnce(env);
    const mail = await readEml(id);
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((v) => v.address) : []).toEqual([
      "alice@contoso.com",
      "bob@contoso.com",
    ]);
    expect(mail.attachments[0]?.filename).toBe("scan 001.pdf");
    expect(mail.attachments[0]?.content.equals(scan)).toBe(true);
    // A scan brings no text: it still goes out as a text part with the file attached, not as a bare PDF.
    expect((mail.headers.get("content-type") as { value: string }).value).toBe("multipart/mixed");
    expect(mail.text?.trim()).toBe("scan 001.pdf is attached.");
    expect(mail.attachments[0]?.contentDisposition).toBe("attachment");
    expect((await storageContents(storageConnection(), env.names)).blobs).toEqual([]);
  });

  it("delivers every file a device sent, whatever its disposition and transfer encoding", async () => {
    const scan = Buffer.alloc(120_000);
    for (let i = 0; i < scan.length; i++) scan[i] = (i * 13 + 1) % 256;
    const note = Buffer.from("Scanned at 09:14 \u2013 3 pages");
    const boundary = "----mfp-7";
    const base64Lines = scan.toString("base64").replace(/.{76}/g, "$&\r\n");
    const submitted = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": `multipart/form-data; boundary=${boundary}` }),
      body: multipartBody(boundary, [
        { name: "to", value: "alice@contoso.com" },
        { name: "subject", value: "Scan from MFP-7" },
        {
          name: "scan",
          value: base64Lines,
          disposition: "attachment; filename=scan.pdf",
          type: "application/pdf",
          headers: ["Content-Transfer-Encoding: base64"],
        },
        { name: "", value: note, disposition: null, type: 'text/plain; name="note.txt"' },
      ]),
    });
    expect(submitted.status).toBe(202);
    const id = String(submitted.json?.id);
    await drainOnce(env);
    const mail = await readEml(id);
    expect(mail.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ["scan.pdf", "application/pdf"],
      ["note.txt", "text/plain"],
    ]);
    expect(mail.attachments[0]?.content.equals(scan)).toBe(true);
    expect(mail.attachments[1]?.content.equals(note)).toBe(true);
  });

  it("ignores a redelivered message whose status is already final", async () => {
    const submitted = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({ to: "dave@contoso.com", subject: "Once", text: "only once" }),
    });
    const id = String(submitted.json?.id);
    const queue = env.storage.queueClient;
    const peeked = await queue.peekMessages();
    const text = peeked.peekedMessageItems[0]?.messageText ?? "";
    await drainOnce(env);
    await env.storage.queue.send(text); // the queue delivers the same message again
    await drainOnce(env);
    const files = (await readdir(env.outboxDir)).filter((f) => f.startsWith(id));
    expect(files).toEqual([`${id}.eml`]);
  });
});
