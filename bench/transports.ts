import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import nodemailer from "nodemailer";
import { ensureLocalCertificate } from "../dev/tls.js";
import type { ComposedMessage } from "../shared/domain/outbound.js";
import { createTokenProvider } from "../shared/transport/entra/tokenProvider.js";
import { GraphTransport } from "../shared/transport/graph/transport.js";
import { SmtpTransport } from "../shared/transport/smtp/transport.js";
import { firstAttempt, type Transport } from "../shared/transport/transport.js";
import { startFakeGraph } from "../test/support/fakeGraph.js";
import { startSmtpPeer } from "../test/support/smtpPeer.js";
import { printTable } from "./table.js";

/** What the client process needs to reach the peers. */
interface Peers {
  graphUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  smtpPort: number;
  password: string;
}

const messages = 300;
/** In flight at once: the Functions queue trigger's default batchSize. */
const concurrency = 16;
const graphDelayMs = 20;
const attachmentBytes = 100 * 1024;
const mailbox = "bench@contoso.com";

/**
 * Messages per second and client CPU time per message for the graph and smtp transports against the loopback
 * peers (fake Graph answering 202 after a fixed delay; smtp-server), with nodemailer sending the same messages
 * straight to the same SMTP server as the baseline. The peers run in this process, the clients in a child
 * process (which trusts the peers' certificate through NODE_EXTRA_CA_CERTS), so CPU is the clients' alone.
 */
export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mailhook-bench-"));
  const tls = await ensureLocalCertificate(join(dir, "tls"));
  const peers: Peers = {
    graphUrl: "",
    tenantId: "bench-tenant",
    clientId: "bench-app",
    clientSecret: randomBytes(16).toString("hex"),
    smtpPort: 0,
    password: randomBytes(16).toString("hex"),
  };
  const graph = await startFakeGraph({
    tls,
    tenantId: peers.tenantId,
    clientId: peers.clientId,
    clientSecret: peers.clientSecret,
    sendDelayMs: graphDelayMs,
    record: false,
    // The benchmark measures the transports' own speed, far past what one mailbox may upload in 5 minutes.
    uploadLimit: { bytes: Number.MAX_SAFE_INTEGER, windowMs: 1 },
  });
  const smtp = await startSmtpPeer({ tls, auth: { passwords: { [mailbox]: peers.password } } });
  try {
    const rows = await runClients({ ...peers, graphUrl: graph.url, smtpPort: smtp.port }, tls.certPath);
    printTable(
      `transports: ${messages} messages with a ${attachmentBytes / 1024} KiB attachment, ${concurrency} in flight, ` +
        `one mailbox (fake Graph answers after ${graphDelayMs} ms)`,
      rows,
    );
  } finally {
    await smtp.stop();
    await graph.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function runClients(peers: Peers, certPath: string): Promise<Record<string, string | number>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certPath, MAILHOOK_BENCH_PEERS: JSON.stringify(peers) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.once("exit", (code) => {
      if (code === 0) resolve(JSON.parse(out) as Record<string, string | number>[]);
      else reject(new Error(`benchmark client exited with code ${code}`));
    });
  });
}

function message(i: number, attachment: Buffer): ComposedMessage {
  return {
    kind: "composed",
    id: `bench-${i}`,
    messageId: `<bench-${i}@contoso.com>`,
    from: { address: mailbox },
    to: [{ address: "alice@contoso.com" }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject: `Benchmark ${i}`,
    text: "Scanned document attached.",
    headers: { "X-Bench": String(i) },
    saveToSentItems: false,
    attachments: [
      {
        name: "scan.pdf",
        contentType: "application/pdf",
        size: attachment.length,
        open: async () => Readable.from([attachment]),
      },
    ],
  };
}

/** Sends `messages` messages, `concurrency` at a time; returns wall and CPU time. */
async function measure(send: (i: number) => Promise<void>) {
  for (let i = 0; i < 10; i++) await send(-1 - i); // warm-up: connections, token, JIT
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < messages) await send(next++);
    }),
  );
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    perSecond: (messages * 1000) / wallMs,
    cpuMsPerMessage: (cpu.user + cpu.system) / 1000 / messages,
  };
}

async function clientMain(peers: Peers): Promise<void> {
  const attachment = randomBytes(attachmentBytes);
  const expectSent = async (transport: Transport, i: number, keep = false) => {
    // keep: kept in Sent Items, so Graph sends through a recorded draft (the checkpoint write is not counted).
    const outcome = await transport.send({ ...message(i, attachment), saveToSentItems: keep }, firstAttempt);
    if (outcome.kind !== "sent")
      throw new Error(`${transport.name}: ${outcome.kind} ${JSON.stringify(outcome)}`);
  };

  const tokens = createTokenProvider({
    tenantId: peers.tenantId,
    clientId: peers.clientId,
    clientSecret: peers.clientSecret,
    authorityHost: peers.graphUrl,
  });
  const graph = new GraphTransport({ graphEndpoint: peers.graphUrl, tokens });
  const graphResult = await measure((i) => expectSent(graph, i));
  const draftResult = await measure((i) => expectSent(graph, i, true));
  await graph.close();

  const smtp = new SmtpTransport({
    name: "smtp",
    host: "localhost",
    port: peers.smtpPort,
    requireTLS: true,
    auth: { kind: "basic", password: () => peers.password },
    connectionsPerMailbox: 3,
  });
  const smtpResult = await measure((i) => expectSent(smtp, i));
  await smtp.close();

  // Baseline: nodemailer alone, same pool size, same messages, same server.
  const baseline = nodemailer.createTransport({
    pool: true,
    maxConnections: 3,
    host: "localhost",
    port: peers.smtpPort,
    secure: false,
    requireTLS: true,
    tls: { minVersion: "TLSv1.2" },
    auth: { user: mailbox, pass: peers.password },
  });
  const baselineResult = await measure(async (i) => {
    const m = message(i, attachment);
    await baseline.sendMail({
      messageId: m.messageId,
      from: m.from,
      to: m.to,
      subject: m.subject,
      text: m.text,
      headers: m.headers,
      attachments: [{ filename: "scan.pdf", contentType: "application/pdf", content: attachment }],
    });
  });
  baseline.close();

  const row = (name: string, r: typeof graphResult) => ({
    transport: name,
    "msg/s": r.perSecond,
    "CPU ms/msg": r.cpuMsPerMessage,
    "msg/s vs baseline": r.perSecond / baselineResult.perSecond,
    "CPU vs baseline": r.cpuMsPerMessage / baselineResult.cpuMsPerMessage,
  });
  await new Promise<void>((resolve) =>
    process.stdout.write(
      JSON.stringify([
        row("graph sendMail (fake Graph, 20 ms)", graphResult),
        row("graph through a draft (create + send)", draftResult),
        row("smtp (mailhook, basic)", smtpResult),
        row("nodemailer alone (baseline)", baselineResult),
      ]),
      () => resolve(),
    ),
  );
}

const peersJson = process.env.MAILHOOK_BENCH_PEERS;
if (peersJson && process.argv[1] === fileURLToPath(import.meta.url)) {
  clientMain(JSON.parse(peersJson) as Peers).then(
    // Keep-alive sockets would hold the process open for seconds; the results are written.
    () => process.exit(0),
    (error) => {
      process.stderr.write(`${error instanceof Error ? error.stack : error}\n`);
      process.exit(1);
    },
  );
}
