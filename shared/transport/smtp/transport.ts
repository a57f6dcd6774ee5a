import type { ConnectionOptions } from "node:tls";
import nodemailer, { type SendMailOptions, type Transporter } from "nodemailer";
import type SMTPPool from "nodemailer/lib/smtp-pool/index.js";
import type { TransportName } from "../../domain/client.js";
import type { OutboundMessage } from "../../domain/outbound.js";
import { classifyTokenFailure } from "../entra/outcome.js";
import { TokenError, type TokenProvider } from "../entra/tokenProvider.js";
import type { FailedOutcome, SendOutcome } from "../outcome.js";
import { firstAttempt, type SendAttempt, type Transport } from "../transport.js";
import { type PasswordLoginHistory, PasswordLoginMemory } from "./loginMemory.js";
import { classifySmtpFailure, isDuplicateDelivery, type SmtpContext, type SmtpFailure } from "./outcome.js";

/**
 * How a mailbox logs in: a password (SMTP AUTH basic), an app-only token (SMTP AUTH XOAUTH2, the SASL user
 * being the mailbox), either one per mailbox (High Volume Email: the account's password when one is
 * configured, else OAuth), or not at all (Direct Send; relay, authenticated by IP or client certificate).
 */
export type SmtpAuth =
  | { kind: "basic"; password(mailbox: string): string }
  | { kind: "oauth2"; tokens: TokenProvider; scope: string }
  | {
      kind: "passwordOrOauth2";
      password(mailbox: string): string | undefined;
      tokens: TokenProvider;
      scope: string;
    }
  | { kind: "none" };

/** How one mailbox logs in, once `SmtpAuth` is resolved for it. */
type MailboxLogin =
  | { kind: "basic"; password: string }
  | { kind: "oauth2"; tokens: TokenProvider; scope: string }
  | { kind: "none" };

function loginFor(auth: SmtpAuth, mailbox: string): MailboxLogin {
  switch (auth.kind) {
    case "none":
      return auth;
    case "oauth2":
      return auth;
    case "basic":
      return { kind: "basic", password: auth.password(mailbox) };
    case "passwordOrOauth2": {
      const password = auth.password(mailbox);
      return password !== undefined
        ? { kind: "basic", password }
        : { kind: "oauth2", tokens: auth.tokens, scope: auth.scope };
    }
  }
}

export interface SmtpTransportSettings {
  name: TransportName;
  host: string;
  port: number;
  /** Refuse to go on without STARTTLS. Required wherever credentials travel (checked at construction). */
  requireTLS: boolean;
  auth: SmtpAuth;
  /** Client certificate and key (PEM) for certificate-based relay connectors. */
  clientCertificate?: { cert: string; key: string };
  /** Exchange Online allows 3 concurrent SMTP AUTH connections per mailbox; the 4th gets 432 4.3.2. */
  connectionsPerMailbox: number;
  timeoutsMs?: { connection: number; socket: number };
  /** Shared memory of password logins that worked (it sharpens the advice on a later 535 5.7.3). */
  logins?: PasswordLoginHistory;
}

/** Raised by a basic `password` lookup when a mailbox has no password configured. */
export class MissingLoginError extends Error {}

// nodemailer asks for a new token this long before msal's expiry; msal renews 5 minutes ahead too.
const tokenRenewalMarginMs = 5 * 60_000;

/** nodemailer over SMTP: one connection pool per sending mailbox, TLS 1.2 or newer. */
export class SmtpTransport implements Transport {
  readonly name: TransportName;
  private readonly pools = new Map<string, Transporter<SMTPPool.SentMessageInfo>>();
  private readonly logins: PasswordLoginMemory;

  constructor(private readonly settings: SmtpTransportSettings) {
    if (settings.auth.kind !== "none" && !settings.requireTLS) {
      throw new Error(
        `transport ${settings.name}: credentials must not travel without TLS (requireTLS is off)`,
      );
    }
    this.name = settings.name;
    this.logins = new PasswordLoginMemory(settings.logins, settings.name);
  }

  async send(message: OutboundMessage, attempt: SendAttempt = firstAttempt): Promise<SendOutcome> {
    let auth: MailboxLogin;
    try {
      auth = loginFor(this.settings.auth, message.from.address);
    } catch (error) {
      if (error instanceof MissingLoginError)
        return { kind: "permanent", code: "config", text: error.message };
      throw error;
    }
    if (auth.kind === "oauth2") {
      // Get the token before connecting: a credential problem is classified as one, not as an SMTP failure.
      try {
        await auth.tokens.getToken(auth.scope);
      } catch (error) {
        if (error instanceof TokenError) return classifyTokenFailure(error.errorCode, error.message);
        return {
          kind: "transient",
          code: "entra",
          text: error instanceof Error ? error.message : String(error),
        };
      }
    }
    const pool = this.pool(message.from.address, auth);
    const mailbox = message.from.address;
    const login = auth.kind === "basic" ? "password" : auth.kind;
    const context: SmtpContext = { transport: this.name, mailbox, login };
    try {
      const info = await pool.sendMail(await mailOptions(message));
      if (login === "password") await this.logins.succeeded(mailbox);
      const sent = { providerMessageId: info.messageId, response: info.response };
      // Some recipients refused at RCPT while others took it (nodemailer then sends to the others): say which,
      // so none is dropped silently (550 5.7.233 refuses exactly the external ones).
      const refused = (info.rejectedErrors ?? []).map(
        (e: Error & Partial<SmtpFailure> & { recipient?: string }) => ({
          address: e.recipient ?? "",
          outcome: failedOutcome(classifySmtpFailure(asSmtpFailure(e), context)),
        }),
      );
      return refused.length > 0 ? { kind: "partial", ...sent, refused } : { kind: "sent", ...sent };
    } catch (error) {
      const failure = asSmtpFailure(error);
      if (failure.responseCode === 535) this.forgetLogin(mailbox);
      // Only a refused password needs the memory: it tells "turned off" from "wrong" (./advice.ts).
      const refused = login === "password" && /^535\b/.test(failure.response?.trim() ?? "");
      const passwordWorkedAt = refused ? await this.logins.workedAt(mailbox) : undefined;
      const outcome = classifySmtpFailure(failure, {
        ...context,
        ...(passwordWorkedAt !== undefined ? { passwordWorkedAt } : {}),
      });
      // Our own stable Message-ID, refused as a duplicate after an attempt that got no answer: that one arrived.
      // (Raw MIME carries the sender's Message-ID, which a device may reuse for different messages.)
      const delivered =
        outcome.kind === "permanent" &&
        message.kind === "composed" &&
        attempt.mayHaveBeenSent === true &&
        isDuplicateDelivery(outcome.text);
      return delivered ? { kind: "sent", providerMessageId: message.messageId, reconciled: true } : outcome;
    }
  }

  /**
   * After `535 5.7.3 Authentication unsuccessful` the mailbox's pool goes (nodemailer keeps the XOAUTH2 token
   * it was given until its expiry) and msal's token is dropped: a retry after the admin granted
   * SMTP.SendAsApp logs in with a new token, whose roles hold the grant, instead of the refused one.
   */
  private forgetLogin(mailbox: string): void {
    const key = mailbox.toLowerCase();
    this.pools.get(key)?.close();
    this.pools.delete(key);
    const { auth } = this.settings;
    if (auth.kind === "oauth2" || auth.kind === "passwordOrOauth2") auth.tokens.invalidate(auth.scope);
  }

  async close(): Promise<void> {
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  private pool(mailbox: string, login: MailboxLogin): Transporter<SMTPPool.SentMessageInfo> {
    const key = mailbox.toLowerCase();
    const existing = this.pools.get(key);
    if (existing) return existing;
    const { settings } = this;
    const tls: ConnectionOptions = {
      minVersion: "TLSv1.2",
      servername: settings.host,
      ...settings.clientCertificate,
    };
    const pool = nodemailer.createTransport({
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
      ...loginOptions(login, mailbox),
    });
    this.pools.set(key, pool);
    return pool;
  }
}

/** A refused recipient's reply is never a success; an unreadable one is retried like any unknown answer. */
function failedOutcome(outcome: SendOutcome): FailedOutcome {
  return outcome.kind === "sent" || outcome.kind === "partial"
    ? { kind: "transient", text: "refused recipient without a reply" }
    : outcome;
}

/**
 * nodemailer's message: composed from the fields, or the caller's own MIME passed through with its envelope.
 * `envelopeRecipients` (the rest of a message some recipients already have) narrows RCPT TO, never the headers.
 */
async function mailOptions(message: OutboundMessage): Promise<SendMailOptions> {
  const envelopeTo = (
    message.envelopeRecipients ?? (message.kind === "mime" ? message.recipients : undefined)
  )?.map((r) => r.address);
  if (message.kind === "mime") {
    return { envelope: { from: message.from.address, to: envelopeTo ?? [] }, raw: await message.open() };
  }
  const attachments = await Promise.all(
    message.attachments.map(async (a) => ({
      filename: a.name,
      contentType: a.contentType,
      content: await a.open(),
      ...(a.contentId ? { cid: a.contentId } : {}),
      ...(a.inline ? { contentDisposition: "inline" as const } : {}),
    })),
  );
  return {
    ...(envelopeTo ? { envelope: { from: message.from.address, to: envelopeTo } } : {}),
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
  };
}

function loginOptions(auth: MailboxLogin, mailbox: string) {
  switch (auth.kind) {
    case "none":
      return {};
    case "basic":
      return { auth: { user: mailbox, pass: auth.password } };
    case "oauth2":
      return {
        auth: {
          type: "OAuth2" as const,
          user: mailbox,
          // Each new pooled connection asks for a token; msal answers from its cache until renewal is due.
          provisionCallback(
            _user: string,
            renew: boolean,
            done: (error: Error | null, token?: string, expiresMs?: number) => void,
          ) {
            auth.tokens.getToken(auth.scope, { forceRefresh: renew }).then(
              (t) => done(null, t.token, t.expiresOnMs - tokenRenewalMarginMs),
              (error: Error) => done(error),
            );
          },
        },
      };
  }
}

function asSmtpFailure(error: unknown): SmtpFailure {
  if (error instanceof Error) {
    const e = error as Error & Partial<SmtpFailure>;
    return { responseCode: e.responseCode, response: e.response, code: e.code, message: e.message };
  }
  return { message: String(error) };
}
