import { hostname as osHostname } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { defaultMessageBytes } from "../../shared/config.js";
import { bodyLimitsFor } from "../../shared/intake/readMessage.js";
import { jsonLogger, textLogger } from "../../shared/log.js";
import { apiBaseUrl } from "../api.js";
import { CliError, type CliIo } from "../io.js";
import { edgeCertificate } from "./certificate.js";
import { resolveKeyRef } from "./keyRef.js";
import { Networks } from "./networks.js";
import {
  type EdgeSettings,
  type ListenerKind,
  type ListenerSpec,
  type RunningEdge,
  startEdge,
  type TlsVersion,
} from "./server.js";

export const edgeUsage = `usage: mailhook edge --api https://<app>.azurewebsites.net   (or MAILHOOK_URL)
         [--listen [host:]port ...]            SMTP with STARTTLS, TLS 1.2+ (default 0.0.0.0:2525)
         [--listen-tls [host:]port ...]        implicit TLS (SMTPS), TLS 1.2+
         [--legacy-listen [host:]port ...]     STARTTLS for devices below TLS 1.2 (with --min-tls 1.0|1.1)
         [--legacy-listen-tls [host:]port ...] implicit TLS for devices below TLS 1.2
         [--min-tls 1.0|1.1|1.2]               lowest TLS version of the legacy listeners (default 1.2)
         [--tls-cert cert.pem --tls-key key.pem]  else a self-signed certificate is generated
         [--allow-ip CIDR=env:NAME|file:/path ...] devices there may send without AUTH, with that key
         [--allow-insecure-auth CIDR ...]      networks where AUTH is offered before STARTTLS
         [--max-connections 100] [--max-message-bytes N] [--hostname name]
Devices log in with any user name and their mailhook API key as the password.`;

const tlsVersions: Record<string, TlsVersion> = { "1.0": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2" };
const tlsLabels: Record<TlsVersion, string> = { TLSv1: "1.0", "TLSv1.1": "1.1", "TLSv1.2": "1.2" };

const numbers = z.object({
  maxConnections: z.coerce.number().int().min(1).max(100_000),
  maxMessageBytes: z.coerce.number().int().min(1024),
});

/** `[host:]port`, `[::1]:2525` or `2525`; the host defaults to every IPv4 address. */
export function parseListen(spec: string, kind: ListenerKind, legacy: boolean): ListenerSpec {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$|^(\d{1,5})$/.exec(spec.trim());
  const port = Number(match?.[3] ?? match?.[4]);
  if (!match || !Number.isInteger(port) || port > 65535) {
    throw new CliError(`--listen ${spec}: expected [host:]port, e.g. 0.0.0.0:2525`, 2);
  }
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port, kind, legacy };
}

/** Reads the command line and the environment into the edge's settings; every mistake is a usage error. */
export async function edgeSettings(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<EdgeSettings> {
  const { values } = parseArgs({
    args,
    options: {
      api: { type: "string" },
      listen: { type: "string", multiple: true },
      "listen-tls": { type: "string", multiple: true },
      "legacy-listen": { type: "string", multiple: true },
      "legacy-listen-tls": { type: "string", multiple: true },
      "min-tls": { type: "string", default: "1.2" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "allow-ip": { type: "string", multiple: true },
      "allow-insecure-auth": { type: "string", multiple: true },
      "max-connections": { type: "string", default: "100" },
      "max-message-bytes": { type: "string", default: String(bodyLimitsFor(defaultMessageBytes).bodyBytes) },
      hostname: { type: "string" },
    },
  });
  const url = values.api ?? env.MAILHOOK_URL;
  if (!url) throw new CliError(`Give the API's URL with --api or MAILHOOK_URL.\n\n${edgeUsage}`, 2);
  const api = apiBaseUrl(url);
  const apiHost = new URL(api).hostname;
  // Device keys travel to the API: in the clear only to this machine itself.
  if (new URL(api).protocol === "http:" && !/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(apiHost)) {
    throw new CliError(`--api ${url}: use https (keys would cross the network in the clear)`, 2);
  }
  const minTls = tlsVersions[values["min-tls"]];
  if (!minTls) throw new CliError(`--min-tls ${values["min-tls"]}: expected 1.0, 1.1 or 1.2`, 2);
  const listeners = [
    ...(values.listen ?? []).map((s) => parseListen(s, "starttls", false)),
    ...(values["listen-tls"] ?? []).map((s) => parseListen(s, "tls", false)),
    ...(values["legacy-listen"] ?? []).map((s) => parseListen(s, "starttls", true)),
    ...(values["legacy-listen-tls"] ?? []).map((s) => parseListen(s, "tls", true)),
  ];
  const legacy = listeners.some((l) => l.legacy);
  if (legacy && minTls === "TLSv1.2") {
    throw new CliError("--legacy-listen and --legacy-listen-tls need --min-tls 1.0 or 1.1", 2);
  }
  if (!legacy && minTls !== "TLSv1.2") {
    throw new CliError(
      `--min-tls ${values["min-tls"]} applies to legacy listeners only, so TLS 1.2+ connections are never weakened: ` +
        "add --legacy-listen [host:]port (or --legacy-listen-tls) and point the old devices there",
      2,
    );
  }
  if (listeners.length === 0) listeners.push(parseListen("0.0.0.0:2525", "starttls", false));
  const limits = numbers.safeParse({
    maxConnections: values["max-connections"],
    maxMessageBytes: values["max-message-bytes"],
  });
  if (!limits.success) {
    throw new CliError(
      "--max-connections and --max-message-bytes take whole numbers (bytes at least 1024)",
      2,
    );
  }
  const allowIps = (values["allow-ip"] ?? []).map((rule) => {
    const at = rule.indexOf("=");
    if (at < 0) throw new CliError(`--allow-ip ${rule}: expected CIDR=env:NAME or CIDR=file:/path`, 2);
    try {
      return { networks: new Networks().add(rule.slice(0, at)), key: resolveKeyRef(rule.slice(at + 1), env) };
    } catch (error) {
      throw new CliError(`--allow-ip ${rule.slice(0, at)}: ${(error as Error).message}`, 2);
    }
  });
  const insecureAuth = new Networks();
  for (const cidr of values["allow-insecure-auth"] ?? []) {
    try {
      insecureAuth.add(cidr);
    } catch (error) {
      throw new CliError(`--allow-insecure-auth: ${(error as Error).message}`, 2);
    }
  }
  const hostname = values.hostname ?? osHostname();
  const certificate = await edgeCertificate({
    certPath: values["tls-cert"],
    keyPath: values["tls-key"],
    hostname,
  }).catch((error: Error) => {
    throw new CliError(`TLS certificate: ${error.message}`, 2);
  });
  return {
    api,
    listeners,
    legacyMinTls: minTls,
    certificate,
    allowIps,
    insecureAuth,
    maxConnections: limits.data.maxConnections,
    maxMessageBytes: limits.data.maxMessageBytes,
    hostname,
  };
}

/** The banner lines: where devices connect and what the certificate is. */
export function describeEdge(settings: EdgeSettings, edge: RunningEdge): string[] {
  const tls = (legacy: boolean) =>
    legacy ? `TLS ${tlsLabels[settings.legacyMinTls]}+, for old devices` : "TLS 1.2+";
  const lines = [
    `  api          ${settings.api}`,
    ...edge.listeners.map(
      (l) =>
        `  ${(l.kind === "tls" ? "smtps" : "smtp").padEnd(12)} ${l.host}:${l.port}  (${l.kind === "tls" ? "implicit TLS" : "STARTTLS"}, ${tls(l.legacy)})`,
    ),
    `  certificate  ${settings.certificate.generated ? `generated for ${settings.hostname} (new at every start)` : settings.certificate.subject}`,
    `  SHA-256      ${settings.certificate.fingerprint256}`,
    "  devices      user name: anything; password: the device's mailhook API key",
  ];
  for (const cidr of settings.insecureAuth.cidrs) lines.push(`  plain AUTH   allowed from ${cidr} (no TLS)`);
  for (const rule of settings.allowIps)
    lines.push(`  allow-ip     ${rule.networks.cidrs.join(", ")} sends without AUTH`);
  return lines;
}

/** `mailhook edge`: runs until SIGINT or SIGTERM. */
export async function edgeCommand(args: string[], io: CliIo): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout.write(`${edgeUsage}\n`);
    return 0;
  }
  const settings = await edgeSettings(args, io.env);
  // One JSON line per event for a service manager's journal; short lines for a person at a terminal.
  const write = (_level: "info" | "warn" | "error", line: string) => io.stdout.write(`${line}\n`);
  const format = io.env.MAILHOOK_LOG ?? (process.stdout.isTTY ? "text" : "json");
  const log =
    format === "text" ? textLogger(write, { component: "edge" }) : jsonLogger(write, { component: "edge" });
  let edge: RunningEdge;
  try {
    edge = await startEdge(settings, log);
  } catch (error) {
    throw new CliError(`mailhook edge cannot start: ${(error as Error).message}`);
  }
  io.stdout.write(
    ["", "mailhook edge is running", ...describeEdge(settings, edge), "Press Ctrl-C to stop.", ""].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await edge.stop();
  return 0;
}
