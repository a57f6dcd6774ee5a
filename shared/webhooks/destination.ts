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
  ["64:ff9b:1::", 48], // local-use NAT64 (RFC 8215): translates to whatever the local network routes
  ["100::", 64], // discard-only (RFC 6666)
  ["2001:db8::", 32], // documentation (RFC 3849)
  ["fc00::", 7],
  ["fe80::", 10],
  ["fec0::", 10], // site-local, deprecated (RFC 3879) but still routed by some networks
  ["ff00::", 8],
] as const) {
  forbidden.addSubnet(network, prefix, "ipv6");
}

/**
 * IPv4 addresses an IPv6 address carries, by the transition mechanism its prefix names; a gateway on the
 * way may turn it into a connection to that IPv4 address, so each is judged as well:
 * IPv4-mapped `::ffff:0:0/96` and IPv4-compatible `::/96` (RFC 4291 §2.5.5), IPv4-translated
 * `::ffff:0:0:0/96` (RFC 2765), NAT64 `64:ff9b::/96` (RFC 6052), 6to4 `2002::/16` (RFC 3056, bits 16–47)
 * and Teredo `2001::/32` (RFC 4380: the server in bits 32–63, the client in the last 32 bits, inverted).
 */
export function embeddedIPv4(address: string): string[] {
  const b = ipv6Bytes(address);
  if (!b) return [];
  const v4 = (at: number, invert = false) =>
    Array.from(b.subarray(at, at + 4), (x) => (invert ? x ^ 0xff : x)).join(".");
  const zero = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return [v4(12)];
  if (zero(0, 8) && b[8] === 0xff && b[9] === 0xff && zero(10, 12)) return [v4(12)];
  if (zero(0, 12)) return [v4(12)];
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return [v4(12)];
  if (b[0] === 0x20 && b[1] === 0x02) return [v4(2)];
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x00 && b[3] === 0x00) return [v4(4), v4(12, true)];
  return [];
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 4) return forbidden.check(address, "ipv4");
  return forbidden.check(address, "ipv6") || embeddedIPv4(address).some((v4) => isPrivateAddress(v4));
}

/** The 16 bytes of an IPv6 address (with `::` and a trailing dotted quad); undefined when it is not one. */
function ipv6Bytes(address: string): Uint8Array | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase().replace(/%.*$/, "");
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  for (const [i, group] of all.entries()) {
    const value = Number.parseInt(group, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  }
  return bytes;
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
