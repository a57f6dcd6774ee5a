import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256Hex } from "../shared/domain/client.js";
import { jsonLogger, textLogger } from "../shared/log.js";
import { type RunningAzurite, startAzurite, stopChild } from "./azurite.js";
import { type LocalEdge, startLocalEdge } from "./edge.js";
import { defaultEdgePort, loadLocalSettings } from "./settings.js";
import { type SmtpSink, startSmtpSink } from "./smtpSink.js";
import { ensureLocalCertificate } from "./tls.js";

/** The development client's default sender (it may send as any address). */
const devSender = "dev@mailhook.local";

/**
 * `npm start`: the local environment (Azurite and an SMTP sink standing in for Azure Storage and Microsoft 365)
 * plus the local Functions host, configured through the same app settings it reads in Azure, and an SMTP
 * edge in front of it for trying a device's path.
 */
async function main(): Promise<void> {
  const local = loadLocalSettings(process.env);
  const dataDir = local.dataDir;
  await mkdir(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env };
  const started: { azurite?: RunningAzurite; sink?: SmtpSink; host?: ChildProcess; edge?: LocalEdge } = {};
  const lines: string[] = [];

  const stopAll = async () => {
    if (started.edge?.kind === "running") await started.edge.edge.stop();
    if (started.host) await stopChild(started.host);
    await started.sink?.stop();
    await started.azurite?.stop();
  };
  const onSignal = () => {
    stopAll().then(() => process.exit(0));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    if (!env.AzureWebJobsStorage) {
      const location = join(dataDir, "azurite");
      await mkdir(location, { recursive: true });
      started.azurite = await startAzurite({ location });
      env.AzureWebJobsStorage = started.azurite.connectionString;
      lines.push(`  storage   Azurite, data kept in ${location}`);
    }

    if (!env.SMTP_HOST) {
      const tls = await ensureLocalCertificate(join(dataDir, "tls"));
      const password = randomBytes(24).toString("base64url");
      started.sink = await startSmtpSink({ outboxDir: join(dataDir, "outbox"), tls, password });
      Object.assign(env, {
        SMTP_HOST: "localhost",
        SMTP_PORT: String(started.sink.port),
        SMTP_AUTH: "basic",
        SMTP_PASSWORDS: JSON.stringify({ "*": password }),
        NODE_EXTRA_CA_CERTS: await trustBundle(tls.certPath, dataDir, env.NODE_EXTRA_CA_CERTS),
      });
      lines.push(`  outbox    ${started.sink.outboxDir}  (every message sent, as <id>.eml)`);
    }

    const devKey = await developmentKey(local.MAILHOOK_DEV_KEY, env.MAILHOOK_CLIENTS, dataDir);
    if (devKey) {
      const clients = env.MAILHOOK_CLIENTS ? (JSON.parse(env.MAILHOOK_CLIENTS) as unknown[]) : [];
      clients.push({
        id: "dev",
        keySha256: sha256Hex(devKey),
        senders: ["*"],
        defaultSender: devSender,
        transport: "smtp",
        // The local host's own client sees and acts on every client's messages (the console's operator).
        operator: true,
      });
      env.MAILHOOK_CLIENTS = JSON.stringify(clients);
      lines.push(
        `  API key   ${devKey}`,
        `  client    "dev": sends as ${devSender} unless a message gives another "from" (any sender allowed)`,
        `  operator  "dev" sees and acts on every client's messages (API and console)`,
      );
    } else {
      lines.push("  clients   yours, from MAILHOOK_CLIENTS (set MAILHOOK_DEV_KEY to add the dev client too)");
    }

    const host = fork(fileURLToPath(new URL("./host.js", import.meta.url)), [], { env, stdio: "inherit" });
    started.host = host;
    const url = await new Promise<string>((resolve, reject) => {
      host.on(
        "message",
        (m: { type?: string; url?: string }) => m.type === "ready" && m.url && resolve(m.url),
      );
      host.once("exit", (code) => reject(new Error(`the local host exited with code ${code}`)));
    });
    host.once("exit", (code) => {
      process.stderr.write(`the local host stopped (code ${code}); stopping mailhook\n`);
      stopAll().then(() => process.exit(code ?? 1));
    });

    const edgePort = local.MAILHOOK_EDGE_PORT ?? defaultEdgePort;
    // The edge logs as the host does: short lines on a terminal, JSON otherwise (MAILHOOK_LOG decides).
    const writeLine = (level: "info" | "warn" | "error", line: string) =>
      (level === "info" ? process.stdout : process.stderr).write(`${line}\n`);
    const edge = await startLocalEdge({
      apiBaseUrl: `${url}/api`,
      port: edgePort,
      tls: await ensureLocalCertificate(join(dataDir, "tls")),
      messageBytes: local.MAX_MESSAGE_BYTES,
      log:
        (local.MAILHOOK_LOG ?? (process.stdout.isTTY ? "text" : "json")) === "text"
          ? textLogger(writeLine, { component: "edge" })
          : jsonLogger(writeLine, { component: "edge" }),
    });
    started.edge = edge;
    if (edge.kind === "taken" && local.MAILHOOK_EDGE_PORT !== undefined) {
      throw new Error(
        `MAILHOOK_EDGE_PORT=${edgePort}: 127.0.0.1:${edgePort} is already in use; choose another port, or 0 to start without the SMTP edge`,
      );
    }
    const edgeLines =
      edge.kind === "running"
        ? [
            `  edge      smtp://127.0.0.1:${edge.port}  (SMTP for devices: any user name, the API key as password)`,
          ]
        : edge.kind === "taken"
          ? [
              `  edge      not started: 127.0.0.1:${edge.port} is in use (set MAILHOOK_EDGE_PORT to another port, or 0)`,
            ]
          : [];
    const trySmtp =
      edge.kind === "running"
        ? [
            "Or send it as a device would, over SMTP (swaks, or any mail client):",
            `  swaks --server 127.0.0.1:${edge.port} --auth-user scanner --auth-password ${devKey ?? "<key>"} \\`,
            "        --from dev@mailhook.local --to alice@contoso.com --attach @scan.pdf",
          ]
        : [];

    process.stdout.write(
      [
        "",
        "mailhook is running",
        `  url       ${url}/api/v1/messages`,
        `  console   ${url}/  (sign in with the API key)`,
        ...edgeLines,
        ...lines,
        "",
        "For the mailhook command (npx mailhook send, status, quota), in another shell:",
        `  export MAILHOOK_URL=${url} MAILHOOK_KEY=${devKey ?? "<your-client-key>"}`,
        "",
        "Send a scan:",
        `  curl -H "Authorization: Bearer ${devKey ?? "<key>"}" -F to=alice@contoso.com -F subject=Scan \\`,
        `       -F file=@scan.pdf ${url}/api/v1/messages`,
        ...trySmtp,
        "Press Ctrl-C to stop.",
        "",
      ].join("\n"),
    );
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
    await stopAll();
    process.exit(1);
  }
}

/**
 * The development client's key: MAILHOOK_DEV_KEY when set; none when MAILHOOK_CLIENTS is set without it;
 * else generated once and kept in the data directory, so scripts keep working across restarts.
 */
async function developmentKey(
  configured: string | undefined,
  clients: string | undefined,
  dataDir: string,
): Promise<string | undefined> {
  if (configured) return configured;
  if (clients) return undefined;
  const path = join(dataDir, "dev-key");
  const kept = await readFile(path, "utf8").then(
    (k) => k.trim(),
    () => "",
  );
  if (kept) return kept;
  const key = `mh_${randomBytes(32).toString("base64url")}`;
  await writeFile(path, `${key}\n`, { mode: 0o600 });
  return key;
}

/** NODE_EXTRA_CA_CERTS names one file: the sink's certificate, plus any bundle the user already trusts. */
async function trustBundle(certPath: string, dataDir: string, existing: string | undefined): Promise<string> {
  if (!existing) return certPath;
  const bundle = join(dataDir, "tls", "trust-bundle.pem");
  await writeFile(bundle, `${await readFile(existing, "utf8")}\n${await readFile(certPath, "utf8")}`);
  return bundle;
}

main();
