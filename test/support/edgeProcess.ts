import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stopChild } from "../../dev/azurite.js";
import { projectRoot } from "../../dev/settings.js";

export interface EdgeListener {
  kind: "smtp" | "smtps";
  host: string;
  port: number;
  legacy: boolean;
}

export interface EdgeProcess {
  listeners: EdgeListener[];
  /** The first listener of a kind (and legacy or not). */
  port(kind: "smtp" | "smtps", legacy?: boolean): number;
  fingerprint256: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the built `mailhook edge` (`node dist/cli/main.js edge …`, what `npm run edge` and the packed
 * tarball run) and reads its listeners from the banner. Listen on port 0 to get free ports.
 */
export async function startEdgeProcess(
  args: string[],
  options: { env?: Record<string, string>; command?: string[]; timeoutMs?: number } = {},
): Promise<EdgeProcess> {
  const command = options.command ?? [process.execPath, join(projectRoot(), "dist", "cli", "main.js")];
  const [file = process.execPath, ...prefix] = command;
  const child = spawn(file, [...prefix, "edge", ...args], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const listeners: EdgeListener[] = [];
  const fingerprint256 = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the edge did not start:\n${output}`));
    }, options.timeoutMs ?? 30_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`the edge exited with code ${code}:\n${output}`));
    };
    child.once("exit", onExit);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      output += `${line}\n`;
      const listener = /^\s+(smtps?)\s+(\S+):(\d+)\s+\(.*?(for old devices)?\)$/.exec(line);
      if (listener) {
        listeners.push({
          kind: listener[1] as "smtp" | "smtps",
          host: listener[2] ?? "",
          port: Number(listener[3]),
          legacy: listener[4] !== undefined,
        });
      }
      const fingerprint = /^\s+SHA-256\s+(\S+)/.exec(line)?.[1];
      if (fingerprint) {
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve(fingerprint);
      }
    });
  });
  return {
    listeners,
    port(kind, legacy = false) {
      const found = listeners.find((l) => l.kind === kind && l.legacy === legacy);
      if (!found) throw new Error(`the edge has no ${legacy ? "legacy " : ""}${kind} listener`);
      return found.port;
    },
    fingerprint256,
    process: child,
    output: () => output,
    stop: () => stopChild(child, 10_000),
  };
}

/** Peak resident memory of a process in bytes (VmHWM), for "memory stays flat" checks. */
export async function peakRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kib * 1024;
}
