import { BlockList, isIP } from "node:net";

/** A set of networks in CIDR notation (`192.168.10.0/24`, `10.1.2.3`, `fd00::/8`), matched against client addresses. */
export class Networks {
  private readonly list = new BlockList();
  readonly cidrs: string[] = [];

  add(cidr: string): this {
    const [address = "", prefix] = cidr.trim().split("/");
    const family = isIP(address);
    if (family === 0) throw new Error(`${JSON.stringify(cidr)} is not an IP address or CIDR network`);
    const type = family === 4 ? "ipv4" : "ipv6";
    const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128) || prefix === "") {
      throw new Error(`${JSON.stringify(cidr)} has an invalid prefix length`);
    }
    this.list.addSubnet(address, bits, type);
    this.cidrs.push(`${address}/${bits}`);
    return this;
  }

  /** Whether `address` is in one of the networks; an IPv4-mapped IPv6 address (`::ffff:10.0.0.5`) counts as IPv4. */
  has(address: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const plain = mapped ?? address;
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 4 ? "ipv4" : "ipv6");
  }
}
