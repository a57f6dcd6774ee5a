import { randomUUID, timingSafeEqual } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, rename, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { SMTPServer } from "smtp-server";

export interface SmtpSink {
  port: number;
  outboxDir: string;
  stop(): Promise<void>;
}

export interface SmtpSinkOptions {
  outboxDir: string;
  tls: { cert: string; key: string };
  /** The password any user must present (AUTH PLAIN or LOGIN). */
  password: string;
  port?: number;
}

/**
 * The local stand-in for Microsoft 365: an SMTP server on 127.0.0.1 that requires STARTTLS (TLS 1.2+) and AUTH,
 * and writes every message to `<outbox>/<id>.eml` (temp file, then rename, so readers never see half a file).
 */
export async function startSmtpSink(options: SmtpSinkOptions): Promise<SmtpSink> {
  await mkdir(options.outboxDir, { recursive: true });
  const expected = Buffer.from(options.password);
  const server = new SMTPServer({
    secure: false,
    key: options.tls.key,
    cert: options.tls.cert,
    minVersion: "TLSv1.2",
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: false,
    size: 200 * 1024 * 1024,
    banner: "mailhook local SMTP sink",
    disabledCommands: [],
    onAuth(auth, _session, callback) {
      const given = Buffer.from(auth.password ?? "");
      if (given.length === expected.length && timingSafeEqual(given, expected)) {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error("5.7.3 Authentication unsuccessful"), { responseCode: 535 }));
      }
    },
    onData(stream, _session, callback) {
      const temp = join(options.outboxDir, `.${randomUUID()}.tmp`);
      pipeline(stream, createWriteStream(temp))
        .then(async () => rename(temp, await outboxPath(options.outboxDir, temp)))
        .then(() => callback(), callback);
    },
  });
  // Without an error listener a failed TLS handshake would crash the process.
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    outboxDir: options.outboxDir,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `<id>.eml` from the Message-ID mailhook sets (`<id@domain>`); a second delivery of one id gets `<id>.2.eml`. */
async function outboxPath(dir: string, file: string): Promise<string> {
  const handle = await open(file);
  const { buffer, bytesRead } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
  await handle.close();
  const headers =
    buffer
      .subarray(0, bytesRead)
      .toString("latin1")
      .split(/\r?\n\r?\n/)[0] ?? "";
  const id = /^message-id:\s*<([A-Za-z0-9-]{1,64})@/im.exec(headers)?.[1] ?? randomUUID();
  for (let copy = 1; ; copy++) {
    const path = join(dir, copy === 1 ? `${id}.eml` : `${id}.${copy}.eml`);
    if (!(await exists(path))) return path;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
