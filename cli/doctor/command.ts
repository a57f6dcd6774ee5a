import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "../../shared/config.js";
import { domainOf } from "../../shared/domain/address.js";
import type { CliIo } from "../io.js";
import { checkClients, senderDomains } from "./clientChecks.js";
import { checkMx, checkSpf, resolverFor } from "./dns.js";
import { type CheckResult, fail, formatResult, warn } from "./result.js";
import { checkEndpointSettings, checkMxEndpoint, checkSubmission } from "./smtpChecks.js";
import { checkTokens } from "./tokenChecks.js";

/** `mailhook doctor`: checks the settings in the environment the way Microsoft's setup guide does. */
export async function doctorCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      domain: { type: "string", multiple: true },
      "dns-server": { type: "string" },
      "static-ip": { type: "string" },
      "mx-port": { type: "string" },
    },
  });
  const results: CheckResult[] = [];
  const report = (found: CheckResult[]) => {
    for (const result of found) io.stdout.write(formatResult(result));
    results.push(...found);
  };

  report(checkEndpointSettings(io.env));
  let config: Config | undefined;
  try {
    // The doctor never touches storage; a placeholder lets the rest of the settings be checked.
    config = loadConfig({ AzureWebJobsStorage: "UseDevelopmentStorage=true", ...io.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report(
      error.problems.map((p) =>
        fail("settings", p, "Fix the app setting (see the README's settings table)."),
      ),
    );
  }

  const clients = config?.clients ?? [];
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
  const domains = values.domain ?? [...mailboxDomains(["graph", "smtp", "direct", "relay"])];
  if (domains.length === 0)
    report([
      warn("domains", "no sending domain to check", "Pass --domain contoso.com or set MAILHOOK_CLIENTS."),
    ]);

  const resolver = resolverFor(values["dns-server"]);
  for (const domain of domains) {
    const needsIp = directOrRelay.has(domain);
    report(await checkMx(resolver, domain, { mxEndpoint: config?.mx?.endpoint, required: needsIp }));
    report(await checkSpf(resolver, domain, { staticIp: values["static-ip"], needsIp }));
  }

  if (config) {
    report(checkClients(config));
    const uses = (t: string) => config.clients.some((c) => c.transport === t);
    if (uses("smtp")) report(await checkSubmission(config.smtp.host, config.smtp.port, config.smtp.auth));
    if (config.mx && (uses("direct") || uses("relay")))
      report(
        await checkMxEndpoint(config.mx.endpoint, Number(values["mx-port"] ?? config.mx.port), uses("relay")),
      );
    report(
      await checkTokens(config, {
        graph: uses("graph"),
        smtp: uses("smtp") && config.smtp.auth === "oauth2",
      }),
    );
  }

  const count = (status: CheckResult["status"]) => results.filter((r) => r.status === status).length;
  io.stdout.write(`\ndoctor: ${count("pass")} pass, ${count("warn")} warn, ${count("fail")} fail\n`);
  return count("fail") > 0 ? 1 : 0;
}
