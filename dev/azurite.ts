import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createInterface } from "node:readline";

export interface RunningAzurite {
  connectionString: string;
  /** The ports it listens on (to start it again on the same ones). */
  ports: { blob: number; queue: number; table: number };
  stop(): Promise<void>;
}

// Azurite's well-known development account (public, documented; not a secret).
const account = "devstoreaccount1";
const accountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/**
 * Starts the pinned Azurite from the project's own dependencies on free loopback ports (or on `ports`, to
 * bring one back after a stop). `location` keeps data on disk (queued messages survive a restart); without
 * it, data lives in memory.
 */
export async function startAzurite(
  options: { location?: string; ports?: RunningAzurite["ports"] } = {},
): Promise<RunningAzurite> {
  const entry = join(
    createRequire(import.meta.url).resolve("azurite/package.json"),
    "..",
    "dist/src/azurite.js",
  );
  const { blob = 0, queue = 0, table = 0 } = options.ports ?? {};
  const args = [
    entry,
    "--blobPort",
    String(blob),
    "--queuePort",
    String(queue),
    "--tablePort",
    String(table),
  ];
  for (const service of ["blob", "queue", "table"]) args.push(`--${service}Host`, "127.0.0.1");
  // The pinned Azurite predates the SDKs' newest x-ms-version.
  args.push("--skipApiVersionCheck", "--disableTelemetry", "--loose");
  args.push(...(options.location ? ["--location", options.location] : ["--inMemoryPersistence"]));
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const ports = await listeningPorts(child);
  const endpoint = (service: string) => `http://127.0.0.1:${ports[service]}/${account}`;
  return {
    connectionString: [
      "DefaultEndpointsProtocol=http",
      `AccountName=${account}`,
      `AccountKey=${accountKey}`,
      `BlobEndpoint=${endpoint("Blob")}`,
      `QueueEndpoint=${endpoint("Queue")}`,
      `TableEndpoint=${endpoint("Table")}`,
    ].join(";"),
    ports: { blob: Number(ports.Blob), queue: Number(ports.Queue), table: Number(ports.Table) },
    // Azurite writes its tables and queue metadata to disk when it closes (LokiJS saves only every few seconds
    // otherwise): a SIGKILL after a short grace on a loaded machine loses what was accepted just before.
    stop: () => stopChild(child, 30_000),
  };
}

function listeningPorts(child: ChildProcess): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const ports: Record<string, string> = {};
    let stderr = "";
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${code}: ${stderr}`));
    };
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`Azurite did not start within 30 s: ${stderr}`));
    }, 30_000);
    child.once("exit", onExit);
    // Keep reading stdout for the life of the process (a full pipe would block Azurite), but settle once.
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const match =
        /Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/.exec(line);
      if (match?.[1] && match[2]) ports[match[1]] = match[2];
      if (ports.Blob && ports.Queue && ports.Table && child.listeners("exit").includes(onExit)) {
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve(ports);
      }
    });
  });
}

export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
