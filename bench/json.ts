import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { finished } from "node:stream/promises";
import { startAzurite, stopChild } from "../dev/azurite.js";
import { startLocalHost } from "../dev/localHostProcess.js";
import { projectRoot } from "../dev/settings.js";
import { type FileBody, multipartScan, peakRssDuring, postBody, rssBytes } from "./memory.js";
import { printTable } from "./table.js";

const MiB = 1024 * 1024;
/** JSON bodies of these sizes, each one attachment in Power Automate's file object (the shape). */
const bodySizesMiB = [10, 30];
const concurrencies = [1, 8];

type Intake = "JSON, streamed" | "JSON, whole body (before)" | "multipart";

/** A process to measure: its pid, where to post, and how to stop it. */
interface Target {
  pid: number;
  url: string;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

// Scheduled three weeks ahead, so the host's dispatcher sends nothing while memory is measured.
const sendAt = () => new Date(Date.now() + 21 * 24 * 3600_000).toISOString();

/** A JSON message with one attachment whose base64 is the file at `base64File`. */
function powerAutomateJson(base64File: string, base64Bytes: number): FileBody {
  return {
    contentType: "application/json",
    head: Buffer.from(
      `{"to":["alice@contoso.com"],"subject":"Bench","sendAt":"${sendAt()}","attachments":[{"name":"scan.pdf",` +
        `"contentBytes":{"$content-type":"application/pdf","$content":"`,
    ),
    file: base64File,
    fileBytes: base64Bytes,
    tail: Buffer.from('"}}]}'),
  };
}

async function writeFileOf(path: string, chunks: Iterable<Buffer | string>): Promise<void> {
  const out = createWriteStream(path);
  for (const chunk of chunks) if (!out.write(chunk)) await once(out, "drain");
  out.end();
  await finished(out);
}

/** The whole-body intake of before (bench/wholeJson.ts) as a process of its own. */
async function startWholeJson(connectionString: string): Promise<Target> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(projectRoot(), "dist", "bench", "wholeJson.js")],
    { env: { ...process.env, AzureWebJobsStorage: connectionString }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`bench/wholeJson exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
  });
  return {
    pid: child.pid ?? 0,
    url: `http://127.0.0.1:${port}/`,
    headers: {},
    stop: () => stopChild(child),
  };
}

async function startHost(connectionString: string): Promise<Target> {
  const host = await startLocalHost({ env: { AzureWebJobsStorage: connectionString } });
  return {
    pid: await host.hostPid(),
    url: `${host.url}/api/v1/messages`,
    headers: { authorization: `Bearer ${host.devKey}` },
    stop: () => host.stop(),
  };
}

/**
 * Extra memory of JSON intake as it streams (`npm run bench -- json`): the host's peak RSS above its idle RSS
 * while it takes 1 and 8 JSON messages at once, each one 10 or 30 MiB of JSON (a Power Automate file object),
 * beside the intake of before (whole body, JSON.parse) and a multipart upload of the same file, measured the
 * same way in the same run, each in a fresh process warmed up with a small message. Target: at most 64 MiB
 * extra for one message, flat in size.
 */
export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mailhook-bench-json-"));
  // On disk: these rows store about 0.9 GB, which Azurite's in-memory store would hold in its own RSS.
  const azurite = await startAzurite({ location: join(dir, "azurite") });
  const rows: Record<string, string | number>[] = [];
  try {
    for (const bodyMiB of bodySizesMiB) {
      const base64Bytes = bodyMiB * MiB - 512;
      const fileBytes = Math.floor((base64Bytes / 4) * 3);
      const file = join(dir, `scan-${bodyMiB}.pdf`);
      const base64File = `${file}.b64`;
      const bytes = randomBytes(fileBytes);
      await writeFileOf(file, [bytes]);
      await writeFileOf(base64File, [bytes.toString("base64")]);
      // The baseline first: every other row's ratio is to it.
      const bodies: Record<Intake, FileBody> = {
        "JSON, whole body (before)": powerAutomateJson(base64File, base64Bytes),
        "JSON, streamed": powerAutomateJson(base64File, base64Bytes),
        multipart: multipartScan(file, fileBytes, { sendAt: sendAt() }),
      };
      for (const atOnce of concurrencies) {
        const measured: Partial<Record<Intake, number>> = {};
        for (const intake of Object.keys(bodies) as Intake[]) {
          const target = await (intake === "JSON, whole body (before)" ? startWholeJson : startHost)(
            azurite.connectionString,
          );
          try {
            const row = await measure(target, bodies[intake], atOnce);
            measured[intake] = row.extraMiB;
            const before = measured["JSON, whole body (before)"];
            rows.push({
              "body MiB": bodyMiB,
              "at once": atOnce,
              intake,
              "202s": `${row.accepted}/${atOnce}`,
              "extra RSS MiB": row.extraMiB,
              "per message MiB": row.extraMiB / atOnce,
              "× before": before ? row.extraMiB / before : "",
              ms: Math.round(row.ms),
            });
          } finally {
            await target.stop();
          }
        }
      }
    }
  } finally {
    await azurite.stop();
    await rm(dir, { recursive: true, force: true });
  }
  printTable(
    "JSON intake memory: host peak RSS above idle (target: ≤ 64 MiB for one message, flat in size); × before = ratio to the whole-body intake of before in the same run",
    rows,
  );
}

/** Warms `target` up with a small message, then measures `atOnce` posts of `body` together. */
async function measure(target: Target, body: FileBody, atOnce: number) {
  const small = Buffer.from(
    JSON.stringify({
      to: "alice@contoso.com",
      subject: "warm-up",
      sendAt: sendAt(),
      attachments: [{ name: "a.txt", contentBytes: randomBytes(30_000).toString("base64") }],
    }),
  );
  for (let i = 0; i < 3; i++) {
    const response = await fetch(target.url, {
      method: "POST",
      headers: { ...target.headers, "content-type": "application/json" },
      body: small,
    });
    await response.arrayBuffer();
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const idle = await rssBytes(target.pid);
  let statuses: number[] = [];
  const started = performance.now();
  const peak = await peakRssDuring(target.pid, async () => {
    statuses = await Promise.all(
      Array.from({ length: atOnce }, () => postBody(target.url, target.headers, body)),
    );
  });
  return {
    extraMiB: (peak - idle) / MiB,
    accepted: statuses.filter((s) => s === 202).length,
    ms: performance.now() - started,
  };
}
