import type { ConnectionOptions } from "node:tls";
import nodemailer, { type Transporter } from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool/index.js";
import type { TransportName } from "../config.js";
import { classifySmtpFailure, type SmtpFailure } from "./smtpOutcome.js";
import type { OutboundMessage, SendOutcome, Transport } from "./transport.js";

/** How one mailbox logs in: a password (basic), an OAuth access token (XOAUTH2), or nothing (Direct Send, relay). */
export type SmtpLogin = { user: string; pass: string } | { user: string; accessToken: string } | undefined;

export interface SmtpTransportSettings {
  name: TransportName;
  host: string;
  port: number;
  /** Refuse to go on without STARTTLS. Required wherever credentials travel. */
  requireTLS: boolean;
  /** Resolves the login for a sending mailbox; a thrown ProblemLogin becomes a permanent outcome. */
  login(mailbox: string): Promise<SmtpLogin>;
  /** Client certificate and key (PEM) for certificate-based relay connectors. */
  clientCertificate?: { cert: string; key: string };
  /** Exchange Online allows 3 concurrent SMTP AUTH connections per mailbox; the 4th gets 432 4.3.2. */
  connectionsPerMailbox: number;
  timeoutsMs?: { connection: number; socket: number };
}

/** Raised by `login` when a mailbox cannot log in at all (no password configured, say). */
export class MissingLoginError extends Error {}

/** nodemailer over SMTP: one connection pool per sending mailbox, TLS 1.2 or newer. */
export class SmtpTransport implements Transport {
  readonly name: TransportName;
  private readonly pools = new Map<string, Transporter<SMTPPool.SentMessageInfo>>();

  constructor(private readonly settings: SmtpTransportSettings) {
    this.name = settings.name;
  }

  async send(message: OutboundMessage): Promise<SendOutcome> {
    let login: SmtpLogin;
    try {
      login = await this.settings.login(message.from.address);
    } catch (error) {
      if (error instanceof MissingLoginError)
        return { kind: "permanent", code: "config", text: error.message };
      return {
        kind: "transient",
        code: "login",
        text: error instanceof Error ? error.message : String(error),
      };
    }
    try {
      const attachments = await Promise.all(
        message.attachments.map(async (a) => ({
          filename: a.name,
          contentType: a.contentType,
          content: await a.open(),
        })),
      );
      const info = await this.pool(message.from.address, login).sendMail({
        messageId: message.messageId,
        from: message.from,
        to: message.to,
        cc: message.cc,
        bcc: message.bcc,
        replyTo: message.replyTo,
        subject: message.subject,
        text: message.text,
        html: message.html,
        headers: message.headers,
        ...(message.importance ? { priority: message.importance } : {}),
        attachments,
      });
      return { kind: "sent", providerMessageId: info.messageId, response: info.response };
    } catch (error) {
      return classifySmtpFailure(asSmtpFailure(error));
    }
  }

  async close(): Promise<void> {
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  private pool(mailbox: string, login: SmtpLogin): Transporter<SMTPPool.SentMessageInfo> {
    // A pool per mailbox and credential: a new token or password opens a new pool.
    const key = `${mailbox.toLowerCase()}\n${login ? ("pass" in login ? login.pass : login.accessToken) : ""}`;
    let pool = this.pools.get(key);
    if (!pool) {
      for (const [oldKey, old] of this.pools) {
        if (oldKey.startsWith(`${mailbox.toLowerCase()}\n`)) {
          old.close();
          this.pools.delete(oldKey);
        }
      }
      const { settings } = this;
      const tls: ConnectionOptions = {
        minVersion: "TLSv1.2",
        servername: settings.host,
        ...settings.clientCertificate,
      };
      pool = nodemailer.createTransport({
        pool: true,
        maxConnections: settings.connectionsPerMailbox,
        host: settings.host,
        port: settings.port,
        secure: false,
        requireTLS: settings.requireTLS,
        tls,
        connectionTimeout: settings.timeoutsMs?.connection ?? 30_000,
        greetingTimeout: settings.timeoutsMs?.connection ?? 30_000,
        socketTimeout: settings.timeoutsMs?.socket ?? 120_000,
        ...(login
          ? {
              auth:
                "pass" in login
                  ? { user: login.user, pass: login.pass }
                  : { type: "OAuth2" as const, user: login.user, accessToken: login.accessToken },
            }
          : {}),
      });
      this.pools.set(key, pool);
    }
    return pool;
  }
}

function asSmtpFailure(error: unknown): SmtpFailure {
  if (error instanceof Error) {
    const e = error as Error & Partial<SmtpFailure>;
    return { responseCode: e.responseCode, response: e.response, code: e.code, message: e.message };
  }
  return { message: String(error) };
}
