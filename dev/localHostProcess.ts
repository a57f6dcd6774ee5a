import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stopChild } from "./azurite.js";

export interface LocalHost {
  url: string;
  devKey: string;
  /** The local SMTP edge's port, when it runs (MAILHOOK_EDGE_PORT; tests turn it off unless they ask). */
  edgePort?: number;
  dataDir: string;
  outboxDir: string;
  /** The launcher's process (`npm start`); the Functions-like host runs as its child. */
  process: ChildProcess;
  output(): string;
  /** The pid of the host process itself (the launcher's child), for memory measurements. */
  hostPid(): Promise<number>;
  stop(): Promise<void>;
}

import { projectRoot } from "./settings.js";

const startScript = join(projectRoot(), "dist", "dev", "start.js");

/**
 * Starts the built local host exactly as `npm start` does (`node dist/dev/start.js`), on a free port with a
 * private data directory, and reads the URL, the development key and the edge's port from its banner. The
 * SMTP edge is off (MAILHOOK_EDGE_PORT=0) unless `env` sets a port: parallel tests must not race for 2525.
 * Used by the end-to-end tests and the benchmarks; run `npm run build` first.
 */
export async function startLocalHost(
  options: { env?: Record<string, string>; dataDir?: string; timeoutMs?: number } = {},
): Promise<LocalHost> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "mailhook-host-")));
  const child = spawn(process.execPath, [startScript], {
    env: { ...process.env, PORT: "0", MAILHOOK_DATA_DIR: dataDir, MAILHOOK_EDGE_PORT: "0", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const banner = await new Promise<{ url: string; devKey: string; edgePort?: number }>((resolve, reject) => {
    let edgePort: number | undefined;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`local host did not start:\n${output}`));
    }, options.timeoutMs ?? 30_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`local host exited with code ${code}:\n${output}`));
    };
    child.once("exit", onExit);
    // The banner's `export MAILHOOK_URL=… MAILHOOK_KEY=…` line, made for the CLI, holds both.
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      const edgeMatch = /^\s+edge\s+smtp:\/\/127\.0\.0\.1:(\d+)/.exec(line);
      if (edgeMatch?.[1]) edgePort = Number(edgeMatch[1]);
      const exported = /^\s+export MAILHOOK_URL=(http:\/\/\S+) MAILHOOK_KEY=(\S+)$/.exec(line);
      if (exported?.[1] && exported[2]) {
        clearTimeout(timer);
        child.off("exit", onExit);
        // Without a development client the key is a placeholder.
        const devKey = exported[2].startsWith("<") ? "" : exported[2];
        resolve({ url: exported[1], devKey, ...(edgePort ? { edgePort } : {}) });
      }
    });
  });
  return {
    ...banner,
    dataDir,
    outboxDir: join(dataDir, "outbox"),
    process: child,
    output: () => output,
    async hostPid() {
      const children = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, "utf8");
      for (const pid of children.trim().split(/\s+/).map(Number)) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        if (cmdline.includes("host.js")) return pid;
      }
      throw new Error("the host process was not found");
    },
    async stop() {
      await stopChild(child, 10_000);
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `GET /api/v1/messages/{id}` until `done(status)` or the deadline. */
export async function waitForStatus(
  host: Pick<LocalHost, "url" | "devKey">,
  id: string,
  done: (status: string) => boolean,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${host.url}/api/v1/messages/${id}`, {
      headers: { authorization: `Bearer ${host.devKey}` },
    });
    const record = (await response.json()) as Record<string, unknown>;
    if (done(String(record.status))) return record;
    if (Date.now() > deadline) throw new Error(`message ${id} still ${record.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface HostProcess {
  url: string;
  process: ChildProcess;
  output(): string;
  /** SIGKILL: no shutdown, as a crash or a scale-in would leave it. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the Functions-like host alone (`dist/dev/host.js`), configured entirely by `env` (storage, clients,
 * transports): what the chaos test kills and restarts while the storage and the providers stay up.
 */
export async function startHostProcess(env: Record<string, string>): Promise<HostProcess> {
  const child = fork(join(projectRoot(), "dist", "dev", "host.js"), [], {
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`host exited with code ${code}:\n${output}`));
    child.once("exit", onExit);
    child.on("message", (m: { type?: string; url?: string }) => {
      if (m.type === "ready" && m.url) {
        child.off("exit", onExit);
        resolve(m.url);
      }
    });
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url,
    process: child,
    output: () => output,
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
    stop: () => stopChild(child, 10_000),
  };
}
