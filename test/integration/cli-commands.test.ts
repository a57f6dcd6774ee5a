import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../cli/run.js";
import { serveRoutes } from "../../dev/httpServer.js";
import { routes } from "../../shared/api/routes.js";
import { type Client, clientSchema, sha256Hex } from "../../shared/domain/client.js";
import { silentLogger } from "../../shared/log.js";
import { startTestServices } from "../support/env.js";
import { drainOnce } from "../support/http.js";

let env: Awaited<ReturnType<typeof startTestServices>>;
let server: Server;
let key: string;
let client: Client;
let cliEnv: Record<string, string>;
let dir: string;

async function cli(args: string[], environment: Record<string, string> = cliEnv) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(args, {
    env: environment,
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t), isTTY: false },
  });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  // The client this suite sends as is made by `keys new`, so the key it prints must work.
  const made = await cli(
    [
      "keys",
      "new",
      "--json",
      "--client-id",
      "cli-test",
      "--sender",
      "scanner@contoso.com",
      "--transport",
      "smtp",
    ],
    {},
  );
  expect(made.code).toBe(0);
  const printed = JSON.parse(made.stdout) as { key: string; client: unknown };
  key = printed.key;
  client = clientSchema.parse(printed.client);
  env = await startTestServices([client]);
  const served = await serveRoutes(routes, "", env.services, silentLogger, 0);
  server = served.server;
  cliEnv = { MAILHOOK_URL: `${served.url}/api`, MAILHOOK_KEY: key };
  dir = await mkdtemp(join(tmpdir(), "mailhook-cli-"));
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await env?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function eml(id: string) {
  return simpleParser(await readFile(join(env.outboxDir, `${id}.eml`)));
}

describe("mailhook keys new", () => {
  it("prints a 256-bit key once and a client entry holding only its SHA-256", async () => {
    expect(key).toMatch(/^mh_[A-Za-z0-9_-]{43}$/); // 32 bytes in base64url
    expect(Buffer.from(key.slice(3), "base64url")).toHaveLength(32);
    expect(client).toMatchObject({
      id: "cli-test",
      keySha256: sha256Hex(key),
      senders: ["scanner@contoso.com"],
    });
    const text = await cli(
      ["keys", "new", "--sender", "*@contoso.com", "--default-sender", "scan@contoso.com"],
      {},
    );
    const [, shown] = /^ {2}(mh_\S+)$/m.exec(text.stdout) ?? [];
    expect(shown).toBeDefined();
    expect(text.stdout).toContain(`"keySha256": "${sha256Hex(shown!)}"`);
    expect(text.stdout.split(shown!).length - 1).toBe(1);
    const again = await cli(["keys", "new", "--json"], {});
    expect(JSON.parse(again.stdout).key).not.toBe(key);
  });

  it("says that Azure blocks port 25 when the client uses direct or relay", async () => {
    const relay = await cli(["keys", "new", "--sender", "*@contoso.com", "--transport", "relay"], {});
    expect(relay.stdout).toContain("TCP port 25, which Azure blocks for most subscription");
    const graph = await cli(["keys", "new", "--sender", "*@contoso.com", "--transport", "graph"], {});
    expect(graph.stdout).not.toContain("port 25");
  });

  it("refuses an entry the app would refuse", async () => {
    const bad = await cli(["keys", "new", "--sender", "not-an-address"], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("senders");
  });
});

describe("mailhook send, status", () => {
  it("sends JSON and reports the status until sent", async () => {
    const sent = await cli([
      "send",
      "--to",
      "alice@contoso.com",
      "--to",
      "Bob <bob@contoso.com>",
      "--subject",
      "From the CLI",
      "--text",
      "Hello",
    ]);
    expect(sent.stderr).toBe("");
    expect(sent.code).toBe(0);
    const accepted = JSON.parse(sent.stdout) as { id: string; status: string };
    expect(accepted.status).toBe("queued");
    expect(await drainOnce(env)).toBe(1);
    const status = await cli(["status", accepted.id]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id: accepted.id, status: "sent", recipients: 2 });
    const mail = await eml(accepted.id);
    expect(mail.subject).toBe("From the CLI");
    expect(mail.text?.trim()).toBe("Hello");
  });

  it("streams attachments as multipart with progress, byte for byte", async () => {
    const pdf = join(dir, "scan.pdf");
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(pdf, bytes);
    const notes = join(dir, "notes.txt");
    await writeFile(notes, "line one\n");
    const sent = await cli([
      "send",
      "--to",
      "alice@contoso.com",
      "--subject",
      "Scan",
      "--attach",
      pdf,
      "--attach",
      notes,
    ]);
    expect(sent.code).toBe(0);
    const progress = sent.stderr.trim().split("\n");
    expect(progress[0]).toMatch(/^uploading .* \/ 3\.0 MB \(\d+%\)$/);
    expect(progress.at(-1)).toMatch(/^uploading 3\.0 MB \/ 3\.0 MB \(100%\)$/);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBeLessThanOrEqual(11);
    const { id } = JSON.parse(sent.stdout) as { id: string };
    expect(await drainOnce(env)).toBe(1);
    const mail = await eml(id);
    expect(mail.attachments.map((a) => [a.filename, a.contentType])).toEqual([
      ["scan.pdf", "application/pdf"],
      ["notes.txt", "text/plain"],
    ]);
    expect(mail.attachments[0]?.content.equals(bytes)).toBe(true);
  });

  it("--wait polls until the message is final", async () => {
    const waiting = cli([
      "send",
      "--to",
      "alice@contoso.com",
      "--subject",
      "Wait",
      "--text",
      "x",
      "--wait",
      "--poll-interval-ms",
      "50",
      "--timeout-seconds",
      "20",
    ]);
    let drained = 0;
    for (let i = 0; i < 100 && drained === 0; i++) {
      drained = await drainOnce(env);
      if (drained === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const done = await waiting;
    expect(done.code).toBe(0);
    expect(done.stderr).toContain("status: sent");
    expect(done.stdout).toMatch(/"status": "sent"/);
  });

  it("says what the server refused, and what is missing locally", async () => {
    const unknown = await cli(["send", "--to", "a@contoso.com", "--subject", "x", "--text", "y"], {
      ...cliEnv,
      MAILHOOK_KEY: "mh_wrong",
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^HTTP 401 Missing or unknown API key/);
    const invalid = await cli(["send", "--to", "not-an-address", "--subject", "x"]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/HTTP 422[\s\S]*to\[0\]/);
    const noUrl = await cli(["status", "x"], { MAILHOOK_KEY: key });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain("MAILHOOK_URL");
    const missing = await cli(["status", "00000000-0000-0000-0000-000000000000"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("HTTP 404");
  });

  it("finds the API whether MAILHOOK_URL ends at the host, /api or /api/v1", async () => {
    const sent = await cli(["send", "--to", "alice@contoso.com", "--subject", "Where", "--text", "x"]);
    const { id } = JSON.parse(sent.stdout) as { id: string };
    const root = cliEnv.MAILHOOK_URL!.replace(/\/api$/, "");
    for (const url of [root, `${root}/`, `${root}/api/`, `${root}/api/v1`, `${root}/api/v1/`]) {
      const status = await cli(["status", id], { ...cliEnv, MAILHOOK_URL: url });
      expect(status.stderr, url).toBe("");
      expect(JSON.parse(status.stdout), url).toMatchObject({ id });
    }
  });

  it("answers 404 for a message that does not exist", async () => {
    const missing = await cli(["status", "00000000-0000-0000-0000-000000000000"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("HTTP 404");
  });
});

describe("mailhook quota", () => {
  it("asks GET /api/v1/mailboxes/{address}/quota with the key and prints the answer", async () => {
    const seen: { url?: string; authorization?: string } = {};
    const peer = createServer((req, res) => {
      seen.url = req.url;
      seen.authorization = req.headers.authorization;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ mailbox: "scanner@contoso.com", nextSlotAt: null }));
    });
    await new Promise<void>((resolve) => peer.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = peer.address() as AddressInfo;
      const quota = await cli(["quota", "scanner@contoso.com"], {
        MAILHOOK_URL: `http://127.0.0.1:${port}`,
        MAILHOOK_KEY: key,
      });
      expect(quota.code).toBe(0);
      expect(seen).toEqual({
        url: "/api/v1/mailboxes/scanner%40contoso.com/quota",
        authorization: `Bearer ${key}`,
      });
      expect(JSON.parse(quota.stdout)).toEqual({ mailbox: "scanner@contoso.com", nextSlotAt: null });
    } finally {
      await new Promise((resolve) => peer.close(resolve));
    }
  });
});
