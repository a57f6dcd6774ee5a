import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { SMTPServer } from "smtp-server";
import { startLocalHost } from "../dev/localHostProcess.js";
import { ensureLocalCertificate } from "../dev/tls.js";
import { sha256Hex } from "../shared/domain/client.js";
import { startEdgeProcess } from "../test/support/edgeProcess.js";
import { startFakeGraph } from "../test/support/fakeGraph.js";
import { printTable } from "./table.js";

const graphDelayMs = 50;
const attachmentBytes = 20 * 1024;
const connectionCounts = [1, 8, 16];
/** Messages per scenario: enough for a steady state, few enough for a shared 2-core machine. */
const messagesFor = (connections: number) => (connections === 1 ? 30 : 120);
/** Every message from another mailbox: pacing (30 a minute per mailbox) is measured elsewhere. */
const mailboxes = 2000;

type Mode = "one per connection" | "many per connection";

/** CPU time of a process so far, in ms: utime + stime of /proc/<pid>/stat, in USER_HZ (100 on Linux). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) / 1024;
}

/** The pid of the launcher's child whose command line names `script` (the host, Azurite). */
async function childPid(parent: number, script: string): Promise<number | undefined> {
  const children = await readFile(`/proc/${parent}/task/${parent}/children`, "utf8").catch(() => "");
  for (const pid of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmdline.includes(script)) return pid;
  }
  return undefined;
}

let sequence = 0;

/**
 * Sends `count` messages over `connections` device connections, as nodemailer does: a new connection for
 * every message, or one connection each that sends many. Resolves when every message got its 250.
 */
async function drive(
  port: number,
  key: string,
  count: number,
  connections: number,
  mode: Mode,
): Promise<number> {
  const attachment = randomBytes(attachmentBytes);
  const options = {
    host: "127.0.0.1",
    port,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: "mfp", pass: key },
  };
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const pooled =
        mode === "many per connection"
          ? nodemailer.createTransport({
              ...options,
              pool: true,
              maxConnections: 1,
              maxMessages: Number.POSITIVE_INFINITY,
            })
          : undefined;
      while (next < count) {
        next++;
        const n = sequence++;
        const transport = pooled ?? nodemailer.createTransport(options);
        await transport.sendMail({
          from: `mfp-${n % mailboxes}@contoso.com`,
          to: "alice@contoso.com",
          subject: `Bench ${n}`,
          text: "Scanned document attached.",
          attachments: [{ filename: "scan.pdf", content: attachment, contentType: "application/pdf" }],
        });
        if (!pooled) transport.close();
      }
      pooled?.close();
    }),
  );
  return performance.now() - started;
}

/**
 * SMTP in, Graph out: nodemailer devices → `mailhook edge` → the local host (Azurite, the queue, pacing) →
 * the loopback fake Graph answering each sendMail after 50 ms, every message from another mailbox. For 1, 8
 * and 16 device connections, one message per connection or many: messages per second end to end (until Graph
 * has them all), how many were lost, CPU ms per message of the edge and of the host, beside the same
 * nodemailer driver sending to a no-op SMTP sink in the same run (the driver's own ceiling).
 */
export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mailhook-bench-edge-"));
  const tls = await ensureLocalCertificate(join(dir, "tls"));
  const key = `mh_bench_${randomBytes(16).toString("hex")}`;
  const graph = await startFakeGraph({
    tls,
    tenantId: "bench-tenant",
    clientId: "bench-app",
    clientSecret: "bench-secret",
    sendDelayMs: graphDelayMs,
    record: false,
  });
  const host = await startLocalHost({
    env: {
      NODE_EXTRA_CA_CERTS: tls.certPath,
      MAILHOOK_CLIENTS: JSON.stringify([
        { id: "bench", keySha256: sha256Hex(key), senders: ["*@contoso.com"], transport: "graph" },
      ]),
      MAILHOOK_DEV_KEY: `mh_dev_${randomBytes(12).toString("hex")}`,
      ENTRA_TENANT_ID: "bench-tenant",
      ENTRA_CLIENT_ID: "bench-app",
      ENTRA_CLIENT_SECRET: "bench-secret",
      ENTRA_AUTHORITY_HOST: graph.url,
      GRAPH_ENDPOINT: graph.url,
    },
    timeoutMs: 60_000,
  });
  const edge = await startEdgeProcess([
    "--api",
    host.url,
    "--listen",
    "127.0.0.1:0",
    "--hostname",
    "localhost",
  ]);
  // The ceiling: a sink that accepts every message and keeps nothing, with the same STARTTLS and AUTH.
  const sink = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    minVersion: "TLSv1.2",
    authMethods: ["PLAIN", "LOGIN"],
    disableReverseLookup: true,
    logger: false,
    onAuth: (_auth, _session, callback) => callback(null, { user: "mfp" }),
    onData: (stream, _session, callback) => {
      stream.on("end", () => callback());
      stream.resume();
    },
  });
  sink.on("error", () => {});
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const sinkPort = (sink.server.address() as AddressInfo).port;

  const rows: Record<string, string | number>[] = [];
  try {
    const hostPid = await host.hostPid();
    const azuritePid = await childPid(host.process.pid ?? 0, "azurite");
    const edgePid = edge.process.pid ?? 0;
    // Warm-up: token, connections, JIT, the queue trigger's first poll.
    await drive(edge.port("smtp"), key, 8, 2, "many per connection");
    await waitForGraph(graph, 8, 60_000);
    for (const mode of ["one per connection", "many per connection"] as Mode[]) {
      for (const connections of connectionCounts) {
        const count = messagesFor(connections);
        const baselineMs = await drive(sinkPort, key, count, connections, mode);
        const before = {
          sends: graph.sends(),
          edge: await cpuMs(edgePid),
          host: await cpuMs(hostPid),
          azurite: azuritePid ? await cpuMs(azuritePid) : 0,
        };
        const started = performance.now();
        const acceptedMs = await drive(edge.port("smtp"), key, count, connections, mode);
        const delivered = await waitForGraph(graph, before.sends + count, 120_000);
        const endToEndMs = performance.now() - started;
        const perMessage = async (pid: number, was: number) => ((await cpuMs(pid)) - was) / count;
        const baselinePerSecond = (count * 1000) / baselineMs;
        const endToEndPerSecond = (count * 1000) / endToEndMs;
        rows.push({
          mode,
          connections,
          messages: count,
          "accepted msg/s": (count * 1000) / acceptedMs,
          "e2e msg/s": endToEndPerSecond,
          "driver ceiling msg/s": baselinePerSecond,
          "e2e vs ceiling": endToEndPerSecond / baselinePerSecond,
          lost: count - (delivered - before.sends),
          "edge CPU ms/msg": await perMessage(edgePid, before.edge),
          "host CPU ms/msg": await perMessage(hostPid, before.host),
          "Azurite CPU ms/msg": azuritePid ? await perMessage(azuritePid, before.azurite) : "-",
        });
      }
    }
    printTable(
      `edge: nodemailer devices → mailhook edge → local host → fake Graph (${graphDelayMs} ms per send), ` +
        `a ${attachmentBytes / 1024} KiB attachment, every message from another mailbox; STARTTLS and AUTH on ` +
        `every connection; the ceiling is the same driver to a no-op SMTP sink`,
      rows,
    );
    printTable("edge: peak memory after the runs", [
      { process: "edge", "peak RSS MiB": await peakRssMiB(edgePid) },
      { process: "host", "peak RSS MiB": await peakRssMiB(hostPid) },
    ]);
  } finally {
    await new Promise<void>((resolve) => sink.close(() => resolve()));
    await edge.stop();
    await host.stop();
    await graph.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Waits until Graph has taken `total` sends in all (or the deadline); resolves to how many it has. */
async function waitForGraph(graph: { sends(): number }, total: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (graph.sends() < total && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  return graph.sends();
}
