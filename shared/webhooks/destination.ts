import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

// Where a webhook must never go (SSRF): loopback, private, link-local (incl. cloud metadata 169.254.169.254),
// carrier-grade NAT, unspecified, multicast and reserved ranges, in IPv4 and IPv6.
const forbidden = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 3],
] as const) {
  forbidden.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  forbidden.addSubnet(network, prefix, "ipv6");
}

export function isPrivateAddress(address: string): boolean {
  // An IPv4 address inside IPv6 (::ffff:a.b.c.d, or NAT64's 64:ff9b::a.b.c.d) is judged as that IPv4 address.
  const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (embedded) return isPrivateAddress(embedded);
  const family = isIP(address);
  if (family === 0) return true;
  return forbidden.check(address, family === 4 ? "ipv4" : "ipv6");
}

export interface DestinationPolicy {
  /** Plain http (tests and local development only). */
  allowHttp: boolean;
  /** Loopback and private addresses (tests and local development only). */
  allowPrivateNetworks: boolean;
}

export class DestinationError extends Error {}

/** Why `url` may not receive webhooks, or undefined; checks the URL itself, before any DNS lookup. */
export function urlProblem(url: string, policy: DestinationPolicy): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "https:" && !(policy.allowHttp && parsed.protocol === "http:"))
    return "must use https";
  if (parsed.username || parsed.password) return "must not carry credentials";
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (
    !policy.allowPrivateNetworks &&
    (host === "localhost" || (isIP(host) !== 0 && isPrivateAddress(host)))
  ) {
    return "must not point at a loopback, private or link-local address";
  }
  return undefined;
}

/**
 * Resolves the webhook's host once and refuses private destinations; the caller connects to exactly the
 * address checked here, so a DNS answer cannot change between the check and the request (rebinding).
 */
export async function resolveDestination(
  url: string,
  policy: DestinationPolicy,
  resolve: (host: string) => Promise<{ address: string; family: number }[]> = (host) =>
    lookup(host, { all: true }),
): Promise<{ address: string; family: number }> {
  const problem = urlProblem(url, policy);
  if (problem) throw new DestinationError(`callback URL ${problem}`);
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  const first = addresses[0];
  if (!first) throw new DestinationError(`callback host ${host} has no address`);
  if (!policy.allowPrivateNetworks && addresses.some((a) => isPrivateAddress(a.address))) {
    throw new DestinationError(`callback host ${host} resolves to a private address`);
  }
  return first;
}
