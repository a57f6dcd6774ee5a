import { lookup, Resolver } from "node:dns/promises";
import { type CheckResult, fail, pass, warn } from "./result.js";

// Microsoft 365's inbound endpoint and SPF include (Learn, "How to set up a multifunction device or application
// to send email using Microsoft 365", options 2 and 3: https://learn.microsoft.com/exchange/mail-flow-best-practices/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365; and "Set up SPF").
const m365MxSuffix = ".mail.protection.outlook.com";
const m365SpfInclude = "include:spf.protection.outlook.com";

/** A resolver that asks only `server` (`host` or `host:port`); the system's resolvers when undefined. */
export function resolverFor(server: string | undefined): Resolver {
  // One try, two seconds: a doctor run must end even when DNS does not answer.
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  if (server) resolver.setServers([server]);
  return resolver;
}

const codeOf = (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error);

/**
 * The first address of `host`: through `resolver` when the doctor was given a DNS server (so every name it
 * checks comes from one place), else the way the operating system resolves names (hosts file included).
 */
export async function resolveAddress(
  host: string,
  resolver: Resolver | undefined,
): Promise<{ address: string } | { code: string }> {
  try {
    if (!resolver) return { address: (await lookup(host)).address };
    const addresses = await resolver.resolve4(host).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "ENODATA") throw error;
      return resolver.resolve6(host);
    });
    const address = addresses[0];
    return address ? { address } : { code: "ENODATA" };
  } catch (error) {
    return { code: codeOf(error) };
  }
}

/** Microsoft's own mail domain: a resolver that cannot find its MX cannot see public DNS at all. */
const publicCanary = "outlook.com";
const seesPublicDns = new WeakMap<Resolver, Promise<boolean>>();

/**
 * What a failed lookup of `domain` means. ENODATA is an answer (the name exists, without such records), and so
 * is ENOTFOUND (NXDOMAIN) from a resolver that finds other public names; a refused or silent resolver, or one
 * that finds no public name at all (a sandbox, a captive network), is "DNS unreachable": nothing was learnt.
 */
export async function lookupFailure(
  resolver: Resolver,
  error: unknown,
): Promise<"no records" | "no such domain" | "unreachable"> {
  const code = codeOf(error);
  if (code === "ENODATA") return "no records";
  if (code !== "ENOTFOUND") return "unreachable";
  let canary = seesPublicDns.get(resolver);
  if (!canary) {
    canary = resolver.resolveMx(publicCanary).then(
      (records) => records.length > 0,
      () => false,
    );
    seesPublicDns.set(resolver, canary);
  }
  return (await canary) ? "no such domain" : "unreachable";
}

/** The result for a lookup that did not give records: unreachable DNS is a warning that nothing was checked. */
async function failedLookup(
  resolver: Resolver,
  error: unknown,
  name: string,
  what: string,
  domain: string,
  missing: CheckResult,
): Promise<CheckResult> {
  const code = codeOf(error);
  switch (await lookupFailure(resolver, error)) {
    case "no records":
      return missing;
    case "no such domain":
      return fail(
        name,
        `${domain} does not exist in DNS (${code})`,
        `Check the spelling of ${domain}; a sending domain must be registered and added to Microsoft 365.`,
      );
    case "unreachable":
      return warn(
        name,
        `DNS unreachable: looking up the ${what} of ${domain} failed (${code}), so it was not checked`,
        "Run mailhook doctor where DNS resolves public names, or pass --dns-server 1.1.1.1.",
      );
  }
}

/** MX of a sending domain: Microsoft 365 accepts its mail at `<domain>.mail.protection.outlook.com`. */
export async function checkMx(
  resolver: Resolver,
  domain: string,
  options: { mxEndpoint?: string; required: boolean },
): Promise<CheckResult[]> {
  const name = `mx ${domain}`;
  let records: { exchange: string; priority: number }[];
  try {
    records = await resolver.resolveMx(domain);
  } catch (error) {
    const fix = `Add the MX record Microsoft 365 admin center > Settings > Domains shows for ${domain}.`;
    return [
      await failedLookup(
        resolver,
        error,
        name,
        "MX",
        domain,
        fail(name, `no MX record (${codeOf(error)})`, fix),
      ),
    ];
  }
  const hosts = records.sort((a, b) => a.priority - b.priority).map((r) => r.exchange.toLowerCase());
  const m365 = hosts.find((h) => h.endsWith(m365MxSuffix));
  const results: CheckResult[] = [];
  if (m365) results.push(pass(name, `MX ${m365}`));
  else {
    const detail = `MX ${hosts.join(", ") || "(none)"} is not *${m365MxSuffix}`;
    const fix =
      "Point the MX at the endpoint shown in Microsoft 365 admin center > Settings > Domains " +
      "(e.g. contoso-com.mail.protection.outlook.com)" +
      (options.required
        ? "; Direct Send and relay deliver to that endpoint."
        : ", or ignore this for a hybrid or filtered domain.");
    results.push(options.required ? fail(name, detail, fix) : warn(name, detail, fix));
  }
  if (options.mxEndpoint && m365 && options.mxEndpoint.toLowerCase() !== m365) {
    results.push(
      warn(
        `mx endpoint ${domain}`,
        `MX_ENDPOINT is ${options.mxEndpoint} but the domain's MX is ${m365}`,
        `Set MX_ENDPOINT=${m365} (the value of the MX record, never an IP address).`,
      ),
    );
  }
  return results;
}

/**
 * SPF of a sending domain: one `v=spf1` record including Microsoft 365 and, for direct/relay, each address mail
 * leaves from (the NAT gateway's static IP, and the app's observed egress address when given).
 */
export async function checkSpf(
  resolver: Resolver,
  domain: string,
  options: { ips: string[]; needsIp: boolean },
): Promise<CheckResult[]> {
  const name = `spf ${domain}`;
  const ips = [...new Set(options.ips)];
  const wanted = `v=spf1 ${ips.map((ip) => `ip4:${ip} `).join("")}${m365SpfInclude} ~all`;
  let txt: string[][];
  try {
    txt = await resolver.resolveTxt(domain);
  } catch (error) {
    const missing = fail(
      name,
      `no TXT records (${codeOf(error)})`,
      `Publish the TXT record "${wanted}" on ${domain}.`,
    );
    return [await failedLookup(resolver, error, name, "TXT records", domain, missing)];
  }
  // A TXT record may arrive split into 255-byte strings; SPF joins them without spaces (RFC 7208 3.3).
  const spf = txt.map((parts) => parts.join("")).filter((r) => /^v=spf1(\s|$)/i.test(r));
  if (spf.length === 0)
    return [fail(name, "no v=spf1 record", `Publish the TXT record "${wanted}" on ${domain}.`)];
  if (spf.length > 1)
    return [
      fail(
        name,
        `${spf.length} v=spf1 records (receivers treat that as an error)`,
        `Merge them into one: "${wanted}".`,
      ),
    ];
  const record = spf[0]!;
  const terms = record.toLowerCase().split(/\s+/);
  const results: CheckResult[] = [];
  if (terms.includes(m365SpfInclude)) results.push(pass(name, record));
  else
    results.push(
      fail(name, `"${record}" lacks ${m365SpfInclude}`, `Add ${m365SpfInclude} before the all term.`),
    );
  if (!options.needsIp) return results;
  if (ips.length === 0)
    results.push(
      warn(
        `spf ip ${domain}`,
        "not checked: no static outbound IP given",
        "Pass --static-ip <the STATIC_OUTBOUND_IP output of the deployment> (or --env-file with the azd environment) to check the ip4: term.",
      ),
    );
  for (const ip of ips) {
    if (terms.some((t) => t === `ip4:${ip}` || t === `+ip4:${ip}`))
      results.push(pass(`spf ip ${domain}`, `ip4:${ip} is authorized`));
    else
      results.push(
        fail(
          `spf ip ${domain}`,
          `ip4:${ip} is missing; Direct Send and relay mail from that IP fails SPF`,
          `Publish "${wanted}".`,
        ),
      );
  }
  return results;
}
