import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalHost, startLocalHost, waitForStatus } from "../support/localHost.js";

// Runs the built JavaScript (`node dist/dev/start.js`, as `npm start` does): ESM import mistakes show only there.
describe("the local host, end to end", () => {
  let host: LocalHost;
  beforeAll(async () => {
    host = await startLocalHost();
  });
  afterAll(async () => host?.stop());

  const readEml = async (id: string) => simpleParser(await readFile(join(host.outboxDir, `${id}.eml`)));

  it("takes a multipart scan of a few MB and delivers it byte-identical", async () => {
    const pdf = Buffer.concat([Buffer.from("%PDF-1.7\n"), randomBytes(3 * 1024 * 1024)]);
    const form = new FormData();
    form.append("to", "alice@contoso.com");
    form.append("cc", "bob@contoso.com");
    form.append("subject", "Scan from MFP-7");
    form.append("text", "Scanned document attached.");
    form.append("file", new Blob([pdf], { type: "application/pdf" }), "scan.pdf");
    // A scanner with only user/password fields: HTTP Basic with the key as the password.
    const basic = Buffer.from(`scanner:${host.devKey}`).toString("base64");
    const response = await fetch(`${host.url}/api/v1/messages`, {
      method: "POST",
      headers: { authorization: `Basic ${basic}` },
      body: form,
    });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string; status: string };
    expect(accepted.status).toBe("queued");
    expect(response.headers.get("location")).toBe(`${host.url}/api/v1/messages/${accepted.id}`);

    const record = await waitForStatus(host, accepted.id, (s) => s === "sent");
    expect(record).toMatchObject({ transport: "smtp", attempts: 1, mailbox: "dev@mailhook.local" });
    expect(typeof record.sentAt).toBe("string");

    const mail = await readEml(accepted.id);
    expect(mail.subject).toBe("Scan from MFP-7");
    expect(mail.text?.trim()).toBe("Scanned document attached.");
    expect(mail.from?.text).toBe("dev@mailhook.local");
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : "").toBe("alice@contoso.com");
    expect(mail.cc && !Array.isArray(mail.cc) ? mail.cc.text : "").toBe("bob@contoso.com");
    expect(mail.attachments).toHaveLength(1);
    expect(mail.attachments[0]?.filename).toBe("scan.pdf");
    expect(mail.attachments[0]?.content.equals(pdf)).toBe(true);
  });

  it("takes a JSON message with base64 attachments and an HTML body", async () => {
    const csv = Buffer.from("id,amount\n1,42.00\n");
    const response = await fetch(`${host.url}/api/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": host.devKey, "content-type": "application/json" },
      body: JSON.stringify({
        from: "Billing <billing@contoso.com>",
        to: ["carol@fabrikam.com"],
        subject: "Your invoice",
        html: "<p>Invoice <b>42</b></p>",
        attachments: [{ name: "invoice.csv", contentType: "text/csv", contentBytes: csv.toString("base64") }],
        headers: { "X-Invoice": "42" },
      }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    await waitForStatus(host, id, (s) => s === "sent");
    const mail = await readEml(id);
    expect(mail.from?.value).toEqual([{ address: "billing@contoso.com", name: "Billing" }]);
    expect(mail.html).toContain("<b>42</b>");
    expect(mail.headers.get("x-invoice")).toBe("42");
    expect(mail.attachments[0]?.content.equals(csv)).toBe(true);
  });

  it("never logs a key, a body or attachment bytes", async () => {
    // The banner prints the development key on purpose; everything after it is the host's JSON log.
    const logLines = host
      .output()
      .split("\n")
      .filter((line) => line.startsWith("{"));
    expect(logLines.some((line) => line.includes('"message accepted"'))).toBe(true);
    const log = logLines.join("\n");
    for (const secret of [
      host.devKey,
      "Scanned document attached.",
      "Invoice <b>42</b>",
      "id,amount",
      Buffer.from("id,amount\n1,42.00\n").toString("base64"),
      "%PDF-1.7",
    ]) {
      expect(log).not.toContain(secret);
    }
  });

  it("answers problem+json for unknown routes, wrong methods and missing keys", async () => {
    const unknown = await fetch(`${host.url}/api/v1/nothing`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const wrongMethod = await fetch(`${host.url}/api/v1/messages`, { method: "PUT" });
    expect(wrongMethod.status).toBe(405);
    const noKey = await fetch(`${host.url}/api/v1/messages/abc`);
    expect(noKey.status).toBe(401);
    const health = await fetch(`${host.url}/api/health`);
    expect(health.status).toBe(200);
  });
});

describe("restarting the local host", () => {
  it("keeps a queued message across a restart and delivers it afterwards", async () => {
    const first = await startLocalHost();
    const dataDir = first.dataDir;
    const sendAt = new Date(Date.now() + 4_000).toISOString();
    const response = await fetch(`${first.url}/api/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${first.devKey}`, "content-type": "application/json" },
      body: JSON.stringify({ to: ["alice@contoso.com"], subject: "Later", text: "scheduled", sendAt }),
    });
    const { id, status } = (await response.json()) as { id: string; status: string };
    expect(status).toBe("scheduled");
    // Stop before the message is due; keep the data directory.
    await first.process.kill("SIGTERM");
    await new Promise((resolve) => first.process.once("exit", resolve));

    const second = await startLocalHost({ dataDir });
    try {
      expect(second.devKey).toBe(first.devKey);
      const record = await waitForStatus(second, id, (s) => s === "sent");
      expect(Date.parse(String(record.sentAt))).toBeGreaterThanOrEqual(Date.parse(sendAt));
      const mail = await simpleParser(await readFile(join(second.outboxDir, `${id}.eml`)));
      expect(mail.subject).toBe("Later");
    } finally {
      await second.stop();
      await first.stop();
    }
  });
});
