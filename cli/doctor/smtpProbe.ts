import { connect as netConnect, type Socket } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";

/** One SMTP reply: its code and its lines' text (RFC 5321 4.2). */
interface Reply {
  code: number;
  lines: string[];
}

/** What an SMTP endpoint offered, step by step; `error` says where the conversation stopped. */
export interface SmtpProbe {
  /** Whether the TCP connection was made; `timedOut` when it was not made in time (dropped, not refused). */
  connected: boolean;
  timedOut: boolean;
  /** The socket error's code when the connection failed (ECONNREFUSED, ECONNRESET, ...). */
  errorCode?: string;
  greeting?: string;
  /** EHLO keywords before STARTTLS (upper case). */
  extensions: string[];
  startTls: boolean;
  /** The negotiated protocol, e.g. `TLSv1.3`. */
  tlsProtocol?: string;
  /** AUTH mechanisms advertised after STARTTLS (upper case). */
  authMechanisms: string[];
  /** The answer to AUTH, when a login was tried: `"235 2.7.0 …"`, `"535 5.7.139 …"`. */
  authReply?: string;
  /** The answer to MAIL FROM after a successful login (Exchange refuses retired basic auth there: 5.7.30). */
  mailReply?: string;
  error?: string;
}

/** A login to try after STARTTLS: the mailbox's password (AUTH PLAIN) or an app token (AUTH XOAUTH2). */
export type ProbeLogin =
  | { method: "PLAIN"; user: string; password: string }
  | { method: "XOAUTH2"; user: string; token: string };

/** Reads SMTP replies from a socket, one complete (multi-line) reply at a time. */
class ReplyReader {
  private buffer = "";
  private waiting: ((reply: Reply) => void) | undefined;
  private failed: ((error: Error) => void) | undefined;
  private readonly ready: Reply[] = [];

  constructor(
    private socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.attach(socket);
  }

  attach(socket: Socket): void {
    this.socket = socket;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", (error) => this.failed?.(error));
    socket.on("close", () => this.failed?.(new Error("connection closed")));
  }

  detach(): void {
    this.socket.removeAllListeners("data");
    this.socket.removeAllListeners("error");
    this.socket.removeAllListeners("close");
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let lines: string[] = [];
    for (;;) {
      const end = this.buffer.indexOf("\r\n");
      if (end < 0) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      lines.push(line);
      if (line[3] !== "-") {
        const reply = { code: Number(line.slice(0, 3)), lines: lines.map((l) => l.slice(4)) };
        lines = [];
        if (this.waiting) {
          const resolve = this.waiting;
          this.waiting = undefined;
          resolve(reply);
        } else this.ready.push(reply);
      }
    }
  }

  next(): Promise<Reply> {
    const queued = this.ready.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      this.waiting = (reply) => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.failed = (error) => {
        clearTimeout(timer);
        reject(error);
      };
    });
  }

  async command(line: string): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.next();
  }
}

const keywordsOf = (reply: Reply) => reply.lines.slice(1).map((l) => l.trim().toUpperCase());
const textOf = (reply: Reply) => `${reply.code} ${reply.lines.join(" ")}`.trim();

/** The SASL initial response (RFC 4616 PLAIN; XOAUTH2 as Exchange Online documents it). */
function initialResponse(login: ProbeLogin): string {
  const raw =
    login.method === "PLAIN"
      ? `\u0000${login.user}\u0000${login.password}`
      : `user=${login.user}\u0001auth=Bearer ${login.token}\u0001\u0001`;
  return Buffer.from(raw, "utf8").toString("base64");
}

/** How long a probe waits for a connection and for each reply. */
export const defaultProbeTimeoutMs = 5000;

/** Raised when a TCP connection is not made within the timeout: a firewall that drops, not one that refuses. */
class ConnectTimeout extends Error {}

/** A TCP connection to `address` (or `host`) on `port`, or why there is none. */
export async function connectTcp(
  host: string,
  port: number,
  options: { address?: string; timeoutMs?: number } = {},
): Promise<Socket> {
  const timeoutMs = options.timeoutMs ?? defaultProbeTimeoutMs;
  return new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host: options.address ?? host, port });
    // A timer, not the socket's idle timeout: only the connection itself is timed here.
    const timer = setTimeout(() => {
      s.destroy();
      reject(new ConnectTimeout(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Talks to an SMTP endpoint as a client would, without sending mail: greeting, EHLO, STARTTLS (TLS 1.2 or
 * later, certificate verified against the host name), EHLO again for the AUTH mechanisms; with `login`, AUTH
 * and then MAIL FROM and RSET (no message is ever sent); QUIT. Credentials are never part of the result.
 * `address` connects to an address resolved elsewhere while TLS still checks the certificate against `host`.
 */
export async function probeSmtp(
  host: string,
  port: number,
  options: { address?: string; timeoutMs?: number; login?: ProbeLogin } = {},
): Promise<SmtpProbe> {
  const timeoutMs = options.timeoutMs ?? defaultProbeTimeoutMs;
  const { login } = options;
  const probe: SmtpProbe = {
    connected: false,
    timedOut: false,
    extensions: [],
    startTls: false,
    authMechanisms: [],
  };
  let socket: Socket | TLSSocket | undefined;
  let plainSocket: Socket | undefined;
  try {
    try {
      socket = await connectTcp(host, port, { address: options.address, timeoutMs });
    } catch (error) {
      probe.timedOut = error instanceof ConnectTimeout;
      probe.errorCode = socketErrorCode(error);
      throw error;
    }
    probe.connected = true;
    plainSocket = socket;
    const reader = new ReplyReader(socket, timeoutMs);
    const greeting = await reader.next();
    probe.greeting = `${greeting.code} ${greeting.lines[0] ?? ""}`;
    if (greeting.code !== 220) throw new Error(`greeting was ${probe.greeting}`);
    const ehlo = await reader.command("EHLO mailhook-doctor");
    if (ehlo.code !== 250) throw new Error(`EHLO answered ${ehlo.code}`);
    probe.extensions = keywordsOf(ehlo);
    probe.startTls = probe.extensions.includes("STARTTLS");
    if (!probe.startTls) return probe;
    const ready = await reader.command("STARTTLS");
    if (ready.code !== 220) throw new Error(`STARTTLS answered ${ready.code}`);
    reader.detach();
    const plain: Socket = socket;
    socket = await new Promise<TLSSocket>((resolve, reject) => {
      // Exchange Online requires TLS 1.2 or later (Learn, "How to set up a multifunction device or application
      // to send email using Microsoft 365", TLS and other encryption options).
      const s = tlsConnect({ socket: plain, servername: host, minVersion: "TLSv1.2" });
      s.once("secureConnect", () => resolve(s));
      s.once("error", reject);
    });
    probe.tlsProtocol = (socket as TLSSocket).getProtocol() ?? undefined;
    reader.attach(socket);
    const secured = await reader.command("EHLO mailhook-doctor");
    const auth = keywordsOf(secured).find((k) => k.startsWith("AUTH ") || k.startsWith("AUTH="));
    probe.authMechanisms = auth ? auth.slice(5).split(/\s+/).filter(Boolean) : [];
    if (login) {
      let answer = await reader.command(`AUTH ${login.method} ${initialResponse(login)}`);
      // XOAUTH2 reports a refused token as a 334 challenge; an empty line asks for the final answer.
      if (answer.code === 334) answer = await reader.command("");
      probe.authReply = textOf(answer);
      if (answer.code === 235) {
        probe.mailReply = textOf(await reader.command(`MAIL FROM:<${login.user}>`));
        await reader.command("RSET").catch(() => undefined);
      }
    }
    await reader.command("QUIT").catch(() => undefined);
    return probe;
  } catch (error) {
    probe.error = error instanceof Error ? error.message : String(error);
    if (!probe.error && error instanceof AggregateError)
      probe.error = error.errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ");
    return probe;
  } finally {
    socket?.destroy();
    plainSocket?.destroy();
  }
}

/**
 * The code of a failed connection. With several addresses (Node tries IPv4 and IPv6 in turn), the error is an
 * AggregateError whose own code may be missing: the first inner code stands for all.
 */
function socketErrorCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code) return code;
  if (error instanceof AggregateError)
    return error.errors.map((e) => (e as NodeJS.ErrnoException).code).find((c) => c !== undefined);
  return undefined;
}
