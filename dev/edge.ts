import { X509Certificate } from "node:crypto";
import { Networks } from "../cli/edge/networks.js";
import { type RunningEdge, startEdge } from "../cli/edge/server.js";
import { bodyLimitsFor } from "../shared/intake/readMessage.js";
import type { Logger } from "../shared/log.js";
import type { TlsFiles } from "./tls.js";

/** What `npm start` says about its edge: where it listens, or why it does not. */
export type LocalEdge =
  | { kind: "running"; edge: RunningEdge; port: number }
  | { kind: "off" }
  | { kind: "taken"; port: number };

/**
 * The local SMTP edge of `npm start`: on 127.0.0.1 only, forwarding to the local host, STARTTLS with the
 * local certificate and AUTH allowed without it (loopback does not leave the machine), so `swaks` or
 * nodemailer can try a device's path in two commands. A port that is taken is reported, not thrown, when
 * it was the default; an explicitly chosen one stops start-up (the caller decides).
 */
export async function startLocalEdge(options: {
  apiBaseUrl: string;
  port: number;
  tls: TlsFiles;
  messageBytes: number;
  log: Logger;
}): Promise<LocalEdge> {
  if (options.port === 0) return { kind: "off" };
  try {
    const edge = await startEdge(
      {
        api: options.apiBaseUrl,
        listeners: [{ host: "127.0.0.1", port: options.port, kind: "starttls", legacy: false }],
        legacyMinTls: "TLSv1.2",
        certificate: {
          cert: options.tls.cert,
          key: options.tls.key,
          fingerprint256: new X509Certificate(options.tls.cert).fingerprint256,
          generated: false,
          subject: "CN=localhost",
        },
        allowIps: [],
        insecureAuth: new Networks().add("127.0.0.0/8").add("::1"),
        maxConnections: 100,
        maxMessageBytes: bodyLimitsFor(options.messageBytes).bodyBytes,
        hostname: "localhost",
      },
      options.log,
    );
    return { kind: "running", edge, port: edge.listeners[0]?.port ?? options.port };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") return { kind: "taken", port: options.port };
    throw error;
  }
}
