import type { Resolver } from "node:dns/promises";
import { resolveAddress } from "./dns.js";
import { type CheckResult, fail, pass, warn } from "./result.js";
import { tlsVersions } from "./smtpChecks.js";
import { connectTcp, probeSmtp } from "./smtpProbe.js";

// Azure blocks outbound TCP 25 for most subscription types (Enterprise Agreement and MCA-E excepted) and a NAT
// gateway does not lift it; a blocked connection is dropped, so it times out rather than being refused.
// (Microsoft Learn, "Troubleshoot outbound SMTP connectivity problems in Azure",
// https://learn.microsoft.com/azure/virtual-network/troubleshoot-outbound-smtp-connectivity, and
// "Troubleshoot Azure NAT Gateway connectivity", https://learn.microsoft.com/azure/nat-gateway/troubleshoot-nat-connectivity)
const blockedFix =
  "From Azure, use smtp (SMTP AUTH on port 587), graph or hve instead of direct and relay; for Direct Send, send " +
  "from your own network, where port 25 is open. Azure lifts the block only for Enterprise Agreement and MCA-E " +
  "subscriptions (learn.microsoft.com/azure/virtual-network/troubleshoot-outbound-smtp-connectivity); a NAT " +
  "gateway does not. This result is for the network the doctor runs on: run it from a VM in the app's " +
  "subscription to see what the app sees.";

/**
 * The MX endpoint Direct Send and relay deliver to, told apart the way a user needs them: the name does not
 * resolve (DNS failure), the connection is dropped while another Microsoft 365 endpoint answers (blocked by the
 * platform), the endpoint refuses, or it answers and offers STARTTLS with TLS 1.2+ (relay requires it).
 * `control` is a host and port that should answer (the SMTP submission endpoint, port 587).
 */
export async function checkMxEndpoint(
  host: string,
  port: number,
  options: {
    usesRelay: boolean;
    resolver?: Resolver;
    timeoutMs?: number;
    control: { host: string; port: number };
  },
): Promise<CheckResult[]> {
  const name = `mx endpoint ${host}:${port}`;
  const resolved = await resolveAddress(host, options.resolver);
  if ("code" in resolved)
    return [
      fail(
        name,
        `DNS failure: ${host} does not resolve (${resolved.code})`,
        "Set MX_ENDPOINT to the value of your domain's MX record (Microsoft 365 admin center > Settings > Domains), e.g. contoso-com.mail.protection.outlook.com.",
      ),
    ];
  const probe = await probeSmtp(host, port, { address: resolved.address, timeoutMs: options.timeoutMs });
  if (!probe.connected && probe.timedOut) {
    const control = await reaches(options.control, options);
    const seconds = `${(options.timeoutMs ?? 5000) / 1000} s`;
    if (!control)
      return [
        fail(
          name,
          `no outbound connection: neither ${host}:${port} nor ${options.control.host}:${options.control.port} connect within ${seconds}`,
          "Check this machine's network and proxy; then run the doctor again.",
        ),
      ];
    return [
      fail(
        name,
        `blocked by the platform: outbound TCP ${port} is dropped on this network (no connection within ${seconds}), ` +
          `while ${options.control.host}:${options.control.port} connects`,
        blockedFix,
      ),
    ];
  }
  if (!probe.connected)
    return [
      fail(
        name,
        `the MX endpoint refuses connections (${probe.errorCode ?? probe.error})`,
        "Check MX_ENDPOINT is the tenant's *.mail.protection.outlook.com host and the port is 25.",
      ),
    ];
  if (!probe.greeting?.startsWith("220"))
    return [
      fail(
        name,
        probe.greeting
          ? `the MX endpoint refuses: ${probe.greeting}`
          : `connected, but no SMTP greeting (${probe.error})`,
        "Check MX_ENDPOINT is the tenant's *.mail.protection.outlook.com host; a proxy or firewall may intercept port 25.",
      ),
    ];
  if (!probe.startTls || !probe.tlsProtocol || !tlsVersions.includes(probe.tlsProtocol)) {
    const detail = `no TLS 1.2+ via STARTTLS (${probe.error ?? "not offered"})`;
    const fix = "Check MX_ENDPOINT is the tenant's *.mail.protection.outlook.com host.";
    return [options.usesRelay ? fail(name, detail, fix) : warn(name, detail, fix)];
  }
  return [pass(name, `${probe.greeting}; STARTTLS ${probe.tlsProtocol}`)];
}

async function reaches(
  target: { host: string; port: number },
  options: { resolver?: Resolver; timeoutMs?: number },
): Promise<boolean> {
  const resolved = await resolveAddress(target.host, options.resolver);
  if ("code" in resolved) return false;
  try {
    (
      await connectTcp(target.host, target.port, { address: resolved.address, timeoutMs: options.timeoutMs })
    ).destroy();
    return true;
  } catch {
    return false;
  }
}
