import { randomBytes } from "node:crypto";
import nodemailer, { type SendMailOptions } from "nodemailer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../shared/domain/client.js";
import { type EdgeProcess, startEdgeProcess } from "../support/edgeProcess.js";
import { type LocalHost, startLocalHost, waitForStatus } from "../support/localHost.js";
import { OldDevice } from "../support/oldDevice.js";

// The edge's promises when the API is away, when a message is too large, and on old TLS.
const key = `mh_avail_${randomBytes(16).toString("hex")}`;
const sender = "scanner@contoso.com";
const hostEnv = {
  MAILHOOK_CLIENTS: JSON.stringify([
    { id: "mfp", keySha256: sha256Hex(key), senders: [sender], defaultSender: sender, transport: "smtp" },
  ]),
  MAILHOOK_DEV_KEY: `mh_dev_${randomBytes(12).toString("hex")}`,
};
const started: { stop(): Promise<void> }[] = [];
let host: LocalHost;

beforeAll(async () => {
  host = await startLocalHost({ env: hostEnv });
}, 60_000);
afterAll(async () => {
  for (const s of started.reverse()) await s.stop();
  await host?.stop();
});

async function edge(args: string[]): Promise<EdgeProcess> {
  const running = await startEdgeProcess(["--api", host.url, "--hostname", "localhost", ...args]);
  started.push(running);
  return running;
}

const transport = (port: number) =>
  nodemailer.createTransport({
    host: "127.0.0.1",
    port,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: "scanner", pass: key },
  });

const attempt = (port: number, mail: SendMailOptions) =>
  transport(port)
    .sendMail(mail)
    .then(
      (info) => info.response,
      (error: { response?: string; code?: string; message?: string }) =>
        error.response ?? `${error.code} ${error.message}`,
    );

describe("the edge's promises", () => {
  it("answers 451 while the API is down, and the device's retry is delivered once it is back", async () => {
    const dataDir = host.dataDir;
    const port = new URL(host.url).port;
    const api = await edge(["--listen", "127.0.0.1:0"]);
    const mail = {
      from: sender,
      to: "alice@contoso.com",
      subject: "While the API was down",
      text: "retry me",
    };
    // Warm the edge's cache: AUTH and MAIL FROM then succeed from it, and DATA meets the API's absence.
    expect(await attempt(api.port("smtp"), mail)).toMatch(/^250 /);
    await host.stop();
    expect(await attempt(api.port("smtp"), mail)).toMatch(/^451 4\.4\.1 /);
    host = await startLocalHost({ dataDir, env: { ...hostEnv, PORT: port } });
    const retried = await attempt(api.port("smtp"), mail);
    const id = /Queued as (\S+)$/.exec(retried)?.[1];
    expect(id, retried).toBeDefined();
    expect(
      await waitForStatus({ url: host.url, devKey: key }, id!, (s) => s === "sent", 30_000),
    ).toMatchObject({
      status: "sent",
    });
  }, 120_000);

  it("refuses a message over --max-message-bytes with 552 5.3.4, and nothing is queued", async () => {
    const small = await edge(["--listen", "127.0.0.1:0", "--max-message-bytes", "100000"]);
    const before = await listed();
    const reply = await attempt(small.port("smtp"), {
      from: sender,
      to: "alice@contoso.com",
      subject: "Too large",
      attachments: [{ filename: "big.bin", content: randomBytes(300_000) }],
    });
    expect(reply).toMatch(/^552 5\.3\.4 Message size exceeds the limit of 100000 bytes/);
    expect(await listed()).toBe(before);
  });

  it("takes TLS 1.0 only on a legacy listener of an edge started with --min-tls 1.0", async () => {
    const legacy = await edge([
      "--listen-tls",
      "127.0.0.1:0",
      "--legacy-listen-tls",
      "127.0.0.1:0",
      "--min-tls",
      "1.0",
    ]);
    const oldTls = {
      minVersion: "TLSv1" as const,
      maxVersion: "TLSv1" as const,
      ciphers: "DEFAULT@SECLEVEL=0",
    };
    const { device, protocol } = await OldDevice.connect(legacy.port("smtps", true), { tls: oldTls });
    expect(protocol).toBe("TLSv1");
    await device.command("EHLO old-mfp");
    expect(await device.command(`AUTH PLAIN ${Buffer.from(`\0scanner\0${key}`).toString("base64")}`)).toMatch(
      /^235 /,
    );
    expect(await device.command(`MAIL FROM:<${sender}>`)).toMatch(/^250 /);
    expect(await device.command("RCPT TO:<alice@contoso.com>")).toMatch(/^250 /);
    expect(await device.data(`From: ${sender}\nTo: alice@contoso.com\nSubject: TLS 1.0\n\nold\n`)).toMatch(
      /^250 2\.0\.0 Queued as /,
    );
    device.close();
    // The edge's other listener, and its TLS 1.2+ clients, are not weakened.
    await expect(OldDevice.connect(legacy.port("smtps"), { tls: oldTls })).rejects.toThrow();
    const modern = await OldDevice.connect(legacy.port("smtps", true), { tls: {} });
    expect(["TLSv1.2", "TLSv1.3"]).toContain(modern.protocol);
    modern.device.close();
  });

  it("refuses TLS 1.0 everywhere without --min-tls, and --min-tls 1.0 without a legacy listener", async () => {
    const plain = await edge(["--listen-tls", "127.0.0.1:0"]);
    const oldTls = {
      minVersion: "TLSv1" as const,
      maxVersion: "TLSv1" as const,
      ciphers: "DEFAULT@SECLEVEL=0",
    };
    await expect(OldDevice.connect(plain.port("smtps"), { tls: oldTls })).rejects.toThrow();
    await expect(startEdgeProcess(["--api", host.url, "--min-tls", "1.0"])).rejects.toThrow(
      /applies to legacy listeners only/,
    );
    await expect(startEdgeProcess(["--api", host.url, "--legacy-listen", "127.0.0.1:0"])).rejects.toThrow(
      /need --min-tls 1\.0 or 1\.1/,
    );
    await expect(
      startEdgeProcess(["--api", host.url, "--allow-ip", "10.0.0.0/8=mh_literal_key"]),
    ).rejects.toThrow(/never on the command line/);
  });
});

/** How many messages the client has, queued or sent. */
async function listed(): Promise<number> {
  const response = await fetch(`${host.url}/api/v1/messages?limit=100`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return ((await response.json()) as { messages: unknown[] }).messages.length;
}
