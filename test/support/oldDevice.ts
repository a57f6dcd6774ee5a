import { connect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";

/**
 * An SMTP client that talks like an old scanner: one command at a time, waiting for each reply (no
 * PIPELINING), AUTH LOGIN, bare LF line ends, and the message dot-stuffed by hand. A test tool: it reads
 * reply codes only, which is all such devices do.
 */
export class OldDevice {
  private buffered = "";
  private waiting: ((reply: string) => void) | undefined;
  readonly transcript: string[] = [];
  /** Every line of the latest reply (an EHLO answer lists the extensions). */
  lastReply: string[] = [];

  private constructor(private socket: Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      this.buffered += chunk;
      this.deliver();
    });
  }

  /** Connects in plain text, or with implicit TLS (`tls` options as an old device would offer them). */
  static async connect(
    port: number,
    options: {
      tls?: { minVersion?: "TLSv1" | "TLSv1.2"; maxVersion?: "TLSv1" | "TLSv1.2"; ciphers?: string };
      /** The device's own address on the loopback network (127.0.0.2 …), to be told apart from others. */
      localAddress?: string;
    } = {},
  ): Promise<{ device: OldDevice; greeting: string; protocol?: string }> {
    const { localAddress } = options;
    let protocol: string | undefined;
    const plain = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port, ...(localAddress ? { localAddress } : {}) }, () =>
        resolve(s),
      );
      s.once("error", reject);
    });
    const tls = options.tls;
    const socket = tls
      ? await new Promise<Socket>((resolve, reject) => {
          const s = tlsConnect({ socket: plain, rejectUnauthorized: false, ...tls }, () => {
            protocol = s.getProtocol() ?? undefined;
            resolve(s);
          });
          s.once("error", reject);
        })
      : plain;
    const device = new OldDevice(socket);
    return { device, greeting: await device.reply(), ...(protocol ? { protocol } : {}) };
  }

  /** Writes several commands at once (RFC 2920 PIPELINING) and collects one reply for each, in order. */
  async pipelined(lines: string[]): Promise<string[]> {
    this.transcript.push(...lines.map((l) => `C: ${l}`));
    this.socket.write(lines.map((l) => `${l}\r\n`).join(""));
    const replies: string[] = [];
    for (const _ of lines) replies.push(await this.reply());
    return replies;
  }

  /** Sends one line (LF only) and waits for the complete reply; resolves to its last line. */
  async command(line: string): Promise<string> {
    this.transcript.push(`C: ${line}`);
    this.socket.write(`${line}\n`);
    return this.reply();
  }

  /**
   * DATA with the message's lines ended by a bare LF, as some devices' MIME writers produce them. The end
   * of the data is CRLF.CRLF all the same: the edge, like Postfix and smtp-server, never takes a bare-LF
   * dot as the end (RFC 5321 4.1.1.4; accepting one is what makes SMTP smuggling possible).
   */
  async data(message: string): Promise<string> {
    const ready = await this.command("DATA");
    if (!ready.startsWith("354")) return ready;
    const stuffed = message
      .replace(/\r\n/g, "\n")
      .replace(/\n$/, "")
      .split("\n")
      .map((l) => (l.startsWith(".") ? `.${l}` : l))
      .join("\n");
    this.socket.write(`${stuffed}\r\n.\r\n`);
    return this.reply();
  }

  /** AUTH LOGIN: the user name and the password each in base64 after a 334 (RFC 4954 and the LOGIN draft). */
  async authLogin(user: string, password: string): Promise<string> {
    const first = await this.command("AUTH LOGIN");
    if (!first.startsWith("334")) return first;
    const second = await this.command(Buffer.from(user).toString("base64"));
    if (!second.startsWith("334")) return second;
    return this.command(Buffer.from(password).toString("base64"));
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private reply(): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no reply; so far:\n${this.transcript.join("\n")}`)),
        60_000,
      );
      this.waiting = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.deliver();
    });
  }

  private deliver(): void {
    if (!this.waiting) return;
    const lines = this.buffered.split("\r\n");
    const last = lines.findIndex((l) => /^\d{3} /.test(l) || /^\d{3}$/.test(l));
    if (last < 0) return;
    const reply = lines.slice(0, last + 1);
    this.buffered = lines.slice(last + 1).join("\r\n");
    for (const line of reply) this.transcript.push(`S: ${line}`);
    this.lastReply = reply;
    const done = this.waiting;
    this.waiting = undefined;
    done(reply[last] ?? "");
  }
}
