import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/run.js";
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

  it("prints the CLI's export line and names the development client's sender", () => {
    expect(host.output()).toContain(`  export MAILHOOK_URL=${host.url} MAILHOOK_KEY=${host.devKey}\n`);
    expect(host.output()).toContain(
      'client    "dev": sends as dev@mailhook.local unless a message gives another "from"',
    );
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

  it("lets fetch read the 413 for a 60 MB upload with a Content-Length, every time", async () => {
    // The host runs in its own process, as under `npm start`: closing early would race the client's writes.
    const body = Buffer.alloc(60 * 1024 * 1024, 0x20);
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await fetch(`${host.url}/api/v1/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${host.devKey}`, "content-type": "application/json" },
        body,
      });
      expect(response.status).toBe(413);
      expect(((await response.json()) as { setting: string }).setting).toBe("MAX_MESSAGE_BYTES");
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

describe("the local host with your own clients", () => {
  it("takes MAILHOOK_CLIENTS from `keys new`, prints the export line for the CLI, and logs short lines", async () => {
    const cliOutput = async (args: string[], env: Record<string, string>) => {
      let stdout = "";
      let stderr = "";
      const code = await runCli(args, {
        env,
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: (text: string) => (stderr += text), isTTY: false },
      });
      return { code, stdout, stderr };
    };
    const made = await cliOutput(
      ["keys", "new", "--json", "--client-id", "mine", "--sender", "me@contoso.com", "--transport", "smtp"],
      {},
    );
    const { key, client } = JSON.parse(made.stdout) as { key: string; client: unknown };
    const mine = await startLocalHost({
      env: { MAILHOOK_CLIENTS: JSON.stringify([client]), MAILHOOK_DEV_KEY: "", MAILHOOK_LOG: "text" },
    });
    try {
      // No development client beside your own; the banner says so and leaves the key to you.
      expect(mine.devKey).toBe("");
      expect(mine.output()).toContain(`  export MAILHOOK_URL=${mine.url} MAILHOOK_KEY=<your-client-key>`);
      expect(mine.output()).toContain("clients   yours, from MAILHOOK_CLIENTS");
      const env = { MAILHOOK_URL: mine.url, MAILHOOK_KEY: key };
      const sent = await cliOutput(
        ["send", "--to", "alice@contoso.com", "--subject", "Mine", "--text", "Body text"],
        env,
      );
      expect(sent.stderr).toBe("");
      const { id } = JSON.parse(sent.stdout) as { id: string };
      await waitForStatus({ url: mine.url, devKey: key }, id, (s) => s === "sent");
      const mail = await simpleParser(await readFile(join(mine.outboxDir, `${id}.eml`)));
      expect(mail.from?.text).toBe("me@contoso.com");

      const logLines = mine
        .output()
        .split("\n")
        .filter((line) => /^\d{4}-\d\d-\d\dT/.test(line));
      expect(logLines.find((line) => line.includes(" message accepted "))).toMatch(
        new RegExp(
          `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z info  ${id} message accepted clientId=mine`,
        ),
      );
      expect(logLines.some((line) => line.startsWith("{"))).toBe(false);
      const log = logLines.join("\n");
      for (const secret of [key, "Body text"]) expect(log).not.toContain(secret);
    } finally {
      await mine.stop();
    }
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
