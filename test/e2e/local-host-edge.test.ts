import { readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import nodemailer from "nodemailer";
import { afterAll, describe, expect, it } from "vitest";
import { type LocalHost, startLocalHost, waitForStatus } from "../support/localHost.js";

// `npm start` runs an SMTP edge beside the local host (MAILHOOK_EDGE_PORT, default 2525, 0 = off).
const held: Server[] = [];
afterAll(async () => {
  for (const server of held) await new Promise((resolve) => server.close(resolve));
});

/** Holds a port on 127.0.0.1 (a free one, or `port`), as another program would; undefined if it cannot. */
async function hold(port = 0): Promise<number | undefined> {
  const server = createServer();
  const bound = await new Promise<number | undefined>((resolve) => {
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : undefined);
    });
  });
  if (bound !== undefined) held.push(server);
  return bound;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== "object" || !address) throw new Error("no port");
  return address.port;
}

describe("the local host's SMTP edge", () => {
  let host: LocalHost | undefined;
  afterAll(async () => host?.stop());

  it("runs on MAILHOOK_EDGE_PORT, prints it, and takes a message with the development key", async () => {
    host = await startLocalHost({ env: { MAILHOOK_EDGE_PORT: String(await freePort()) } });
    expect(host.edgePort).toBeGreaterThan(0);
    expect(host.output()).toMatch(/^\s+edge\s+smtp:\/\/127\.0\.0\.1:\d+ /m);
    // Loopback does not leave the machine: AUTH works there without STARTTLS, as swaks sends it by default.
    const transport = nodemailer.createTransport({
      host: "127.0.0.1",
      port: host.edgePort,
      secure: false,
      ignoreTLS: true,
      auth: { user: "swaks", pass: host.devKey },
    });
    const info = await transport.sendMail({
      from: "dev@mailhook.local",
      to: "alice@contoso.com",
      subject: "Through the local edge",
      text: "hello",
    });
    transport.close();
    const id = /^250 2\.0\.0 Queued as (\S+)$/.exec(info.response ?? "")?.[1];
    expect(id, info.response).toBeDefined();
    await waitForStatus(host, id!, (s) => s === "sent");
    const files = await readdir(host.outboxDir);
    const found = await Promise.all(files.map((f) => readFile(join(host!.outboxDir, f))));
    const mails = await Promise.all(found.map((raw) => simpleParser(raw)));
    expect(mails.map((m) => m.subject)).toContain("Through the local edge");
  });

  it("starts without the edge, and says so, when the default port 2525 is taken", async () => {
    // Taken by this test, or already by another program: either way it is taken while the host starts.
    await hold(2525);
    const other = await startLocalHost({ env: { MAILHOOK_EDGE_PORT: "" } });
    try {
      expect(other.edgePort).toBeUndefined();
      expect(other.output()).toMatch(/edge\s+not started: 127\.0\.0\.1:2525 is in use/);
    } finally {
      await other.stop();
    }
  });

  it("stops with a clear message when an explicitly chosen port is taken", async () => {
    const port = await hold();
    await expect(startLocalHost({ env: { MAILHOOK_EDGE_PORT: String(port) } })).rejects.toThrow(
      new RegExp(`MAILHOOK_EDGE_PORT=${port}: 127\\.0\\.0\\.1:${port} is already in use`),
    );
  });
});
