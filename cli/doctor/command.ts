import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import { z } from "zod";
import { type Config, ConfigError, loadConfig } from "../../shared/config.js";
import { domainOf } from "../../shared/domain/address.js";
import { type Client, clientSchema } from "../../shared/domain/client.js";
import {
  createTokenProvider,
  exchangeSmtpScope,
  type TokenProvider,
} from "../../shared/transport/entra/tokenProvider.js";
import { CliError, type CliIo } from "../io.js";
import { checkClients, senderDomains } from "./clientChecks.js";
import { checkDeployedApp } from "./deployedApp.js";
import { checkMx, checkSpf, resolverFor } from "./dns.js";
import { checkEgress } from "./egress.js";
import { parseEnvFile } from "./envFile.js";
import { basicAuthNotice, checkLogins, namedMailboxes } from "./loginChecks.js";
import { checkMxEndpoint } from "./mxEndpoint.js";
import { type CheckResult, fail, formatResult, warn } from "./result.js";
import { checkEndpointSettings, checkSubmission } from "./smtpChecks.js";
import { defaultProbeTimeoutMs, type ProbeLogin } from "./smtpProbe.js";
import { checkTokens } from "./tokenChecks.js";

/**
 * `mailhook doctor`: checks the settings in the environment the way Microsoft's setup guide does. With
 * `--env-file .azure/<env>/.env` it checks a deployment: the values given to azd, its outputs (the app's URL,
 * the NAT gateway's IP) and the deployed app itself.
 */
export async function doctorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      domain: { type: "string", multiple: true },
      "dns-server": { type: "string" },
      "static-ip": { type: "string" },
      "egress-ip": { type: "string" },
      "mx-port": { type: "string" },
      "env-file": { type: "string" },
      "timeout-ms": { type: "string" },
    },
  });
  for (const flag of ["static-ip", "egress-ip"] as const) {
    const ip = values[flag];
    if (ip !== undefined && isIP(ip) !== 4)
      throw new CliError(`--${flag} must be an IPv4 address, not ${ip}`, 2);
  }
  const timeoutMs = Number(values["timeout-ms"] ?? defaultProbeTimeoutMs);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new CliError("--timeout-ms must be a positive integer", 2);
  // The file's values win: they are what the deployment was given, whatever this shell has.
  const env = values["env-file"] ? { ...io.env, ...(await envFile(values["env-file"])) } : io.env;

  const results: CheckResult[] = [];
  const report = (found: CheckResult[]) => {
    for (const result of found) io.stdout.write(formatResult(result));
    results.push(...found);
  };

  report(checkEndpointSettings(env));
  let config: Config | undefined;
  try {
    // The doctor never touches storage; a placeholder lets the rest of the settings be checked.
    config = loadConfig({ AzureWebJobsStorage: "UseDevelopmentStorage=true", ...env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report(
      error.problems.map((p) =>
        fail(
          "settings",
          p,
          p.includes("unresolved Key Vault reference")
            ? "The doctor needs the values, not the references the app settings hold: run it with the azd environment (--env-file .azure/<environment>/.env) or set the value itself."
            : "Fix the app setting (see docs/configuration.md).",
        ),
      ),
    );
  }

  // With other settings wrong, the clients may still be readable: their domains are worth checking anyway.
  const clients = config?.clients ?? clientsOf(env.MAILHOOK_CLIENTS);
  const mailboxDomains = (transports: string[]) =>
    new Set(
      clients
        .filter((c) => transports.includes(c.transport))
        .flatMap((c) => [
          ...senderDomains(c.senders),
          ...(c.defaultSender ? [domainOf(c.defaultSender)] : []),
        ]),
    );
  const directOrRelay = mailboxDomains(["direct", "relay"]);
  const domains = values.domain ?? [...mailboxDomains(["graph", "smtp", "direct", "relay", "hve"])];
  if (domains.length === 0)
    report([
      env.MAILHOOK_CLIENTS
        ? warn(
            "domains",
            "MAILHOOK_CLIENTS names no sending domain to check (no readable client sends as a@x or *@x)",
            "Pass --domain contoso.com to check a domain's MX and SPF.",
          )
        : warn("domains", "no sending domain to check", "Pass --domain contoso.com or set MAILHOOK_CLIENTS."),
    ]);

  // The NAT gateway's public IP: --static-ip, else the deployment's STATIC_OUTBOUND_IP output.
  const natIp =
    values["static-ip"] ?? (isIP(env.STATIC_OUTBOUND_IP ?? "") === 4 ? env.STATIC_OUTBOUND_IP : undefined);
  const egressIp = values["egress-ip"];
  const resolver = resolverFor(values["dns-server"]);
  for (const domain of domains) {
    const needsIp = directOrRelay.has(domain);
    report(await checkMx(resolver, domain, { mxEndpoint: config?.mx?.endpoint, required: needsIp }));
    report(
      await checkSpf(resolver, domain, { ips: [natIp, egressIp].filter((ip) => ip !== undefined), needsIp }),
    );
  }
  report(checkEgress({ egressIp, natIp, usesDirectOrRelay: directOrRelay.size > 0 }));

  if (config) {
    report(checkClients(config));
    const uses = (t: string) => config.clients.some((c) => c.transport === t);
    const provider = config.entra && createTokenProvider(config.entra);
    const hveOauth = namedMailboxes(config.clients, "hve").filter(
      (m) => !passwordFor(config.hve.passwords, m),
    );
    const hveNeedsOauth = uses("hve") && (hveOauth.length > 0 || !config.hve.passwords["*"]);
    if (config.mx && (uses("direct") || uses("relay")))
      report(
        await checkMxEndpoint(config.mx.endpoint, Number(values["mx-port"] ?? config.mx.port), {
          usesRelay: uses("relay"),
          // Names resolve where the doctor was told to look, so a DNS failure is reported as one.
          resolver: values["dns-server"] ? resolver : undefined,
          timeoutMs,
          control: { host: config.smtp.host, port: config.smtp.port },
        }),
      );
    const tokenResults = await checkTokens(
      config,
      { graph: uses("graph"), smtp: uses("smtp") && config.smtp.auth === "oauth2", hve: hveNeedsOauth },
      provider,
    );
    report(tokenResults);
    if (uses("smtp")) {
      const mailboxes = namedMailboxes(config.clients, "smtp");
      const basic = config.smtp.auth === "basic";
      report(
        await checkEndpointAndLogins(
          { label: "smtp", host: config.smtp.host, port: config.smtp.port, transport: "smtp" },
          config.smtp.auth,
          await loginsFor(mailboxes, basic ? config.smtp.passwords : undefined, provider),
          basic && mailboxes.length > 0 ? [basicAuthNotice("smtp", mailboxes.join(", "))] : [],
          timeoutMs,
        ),
      );
    }
    if (uses("hve")) {
      // HVE: the same endpoint checks against the HVE host, then each named account signs in as it will.
      const accounts = namedMailboxes(config.clients, "hve");
      const withPassword = accounts.filter((m) => passwordFor(config.hve.passwords, m));
      const logins = [
        ...(await loginsFor(withPassword, config.hve.passwords, provider)),
        ...(await loginsFor(
          accounts.filter((m) => !passwordFor(config.hve.passwords, m)),
          undefined,
          provider,
        )),
      ];
      report(
        await checkEndpointAndLogins(
          { label: "hve", host: config.hve.host, port: config.hve.port, transport: "hve" },
          hveNeedsOauth ? "oauth2" : "basic",
          logins,
          withPassword.length > 0 ? [basicAuthNotice("hve", withPassword.join(", "))] : [],
          timeoutMs,
        ),
      );
    }
  }
  if (env.MAILHOOK_URL) report(await checkDeployedApp(env.MAILHOOK_URL, timeoutMs));

  const count = (status: CheckResult["status"]) => results.filter((r) => r.status === status).length;
  io.stdout.write(`\ndoctor: ${count("pass")} pass, ${count("warn")} warn, ${count("fail")} fail\n`);
  return count("fail") > 0 ? 1 : 0;
}

async function envFile(path: string): Promise<Record<string, string>> {
  try {
    return parseEnvFile(await readFile(path, "utf8"));
  } catch (error) {
    throw new CliError(
      `cannot read --env-file ${path} (${(error as NodeJS.ErrnoException).code ?? error})`,
      2,
    );
  }
}

/** The clients of a MAILHOOK_CLIENTS value on their own; none when it is not a readable JSON array of clients. */
function clientsOf(setting: string | undefined): Client[] {
  if (!setting) return [];
  try {
    const parsed = z.array(clientSchema).safeParse(JSON.parse(setting));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

function passwordFor(passwords: Record<string, string>, mailbox: string): string | undefined {
  const own = Object.entries(passwords).find(([m]) => m.toLowerCase() === mailbox.toLowerCase());
  return own?.[1] ?? passwords["*"];
}

/** How each mailbox signs in: its password when `passwords` is given, else the app's Exchange Online token. */
async function loginsFor(
  mailboxes: string[],
  passwords: Record<string, string> | undefined,
  provider: TokenProvider | undefined,
): Promise<{ mailbox: string; login: ProbeLogin }[]> {
  if (passwords) {
    return mailboxes.flatMap((mailbox) => {
      const password = passwordFor(passwords, mailbox);
      return password ? [{ mailbox, login: { method: "PLAIN" as const, user: mailbox, password } }] : [];
    });
  }
  if (!provider || mailboxes.length === 0) return [];
  // Without a token there is nothing to sign in with; the token check has reported why.
  const token = await provider.getToken(exchangeSmtpScope).then(
    (t) => t.token,
    () => undefined,
  );
  return token
    ? mailboxes.map((mailbox) => ({ mailbox, login: { method: "XOAUTH2" as const, user: mailbox, token } }))
    : [];
}

/**
 * The submission endpoint (EHLO, STARTTLS, TLS 1.2+, the AUTH mechanism), then, where it passed, each login
 * as the transport will make it.
 */
async function checkEndpointAndLogins(
  target: Parameters<typeof checkLogins>[0] & { label: "smtp" | "hve" },
  auth: "oauth2" | "basic",
  logins: Parameters<typeof checkLogins>[1],
  notices: CheckResult[],
  timeoutMs: number,
): Promise<CheckResult[]> {
  const submission = await checkSubmission(target.host, target.port, auth, {
    timeoutMs,
    label: target.label,
  });
  if (submission.some((r) => r.status === "fail")) return [...submission, ...notices];
  return [...submission, ...notices, ...(await checkLogins(target, logins, timeoutMs))];
}
