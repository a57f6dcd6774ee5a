import { createSocket } from "node:dgram";
import type { AddressInfo } from "node:net";

/** Records of one name: A as dotted IPv4, MX as [priority, exchange], TXT as the strings of each record. */
export interface ZoneEntry {
  a?: string[];
  mx?: [number, string][];
  txt?: string[][];
}

const typeA = 1;
const typeMx = 15;
const typeTxt = 16;

function encodeName(name: string): Buffer {
  const labels = name.split(".").filter(Boolean);
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

/** The question's name and the offset after it (no compression in queries, RFC 1035 4.1.2). */
function readQuestion(query: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let offset = 12;
  while (query[offset]! > 0) {
    const length = query[offset]!;
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString());
    offset += length + 1;
  }
  return { name: labels.join(".").toLowerCase(), type: query.readUInt16BE(offset + 1), end: offset + 5 };
}

function answer(type: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0); // pointer to the question's name
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4); // IN
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

/** A loopback DNS server (UDP) answering A, MX and TXT from `zone`; NXDOMAIN for names it does not hold. */
export async function startDnsServer(zone: Record<string, ZoneEntry>) {
  const socket = createSocket("udp4");
  socket.on("message", (query, peer) => {
    const { name, type, end } = readQuestion(query);
    const entry = zone[name];
    const answers: Buffer[] = [];
    if (entry && type === typeA)
      for (const address of entry.a ?? [])
        answers.push(answer(typeA, Buffer.from(address.split(".").map(Number))));
    if (entry && type === typeMx)
      for (const [priority, exchange] of entry.mx ?? []) {
        const pref = Buffer.alloc(2);
        pref.writeUInt16BE(priority);
        answers.push(answer(typeMx, Buffer.concat([pref, encodeName(exchange)])));
      }
    if (entry && type === typeTxt)
      for (const strings of entry.txt ?? [])
        answers.push(
          answer(
            typeTxt,
            Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]))),
          ),
        );
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180 | (entry ? 0 : 3), 2); // response, RD, RA; NXDOMAIN when unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(Buffer.concat([header, query.subarray(12, end), ...answers]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    server: `127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
