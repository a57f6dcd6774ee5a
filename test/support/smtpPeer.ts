import type { AddressInfo } from "node:net";
import { buffer } from "node:stream/consumers";
import type { TLSSocket } from "node:tls";
import { SMTPServer, type SMTPServerSession } from "smtp-server";

export type SmtpStage = "auth" | "mail" | "rcpt" | "data";

/**
 * A scripted answer for the next command at `stage`: a reply (`"550 5.7.60 …"`), a reset, silence, or (at
 * `data`) the message accepted and then the connection reset before the 250 (the sender cannot know).
 */
export type SmtpScript = {
  stage: SmtpStage;
  reply?: string;
  reset?: boolean;
  hang?: boolean;
  acceptThenReset?: boolean;
  times?: number;
};

export interface SmtpPeerOptions {
  tls: { cert: string; key: string };
  /** Offer STARTTLS (default true). */
  startTls?: boolean;
  /** Require AUTH: passwords per user, and/or a check for XOAUTH2 bearer tokens. Absent: no AUTH offered. */
  auth?: { passwords?: Record<string, string>; tokenValid?(user: string, token: string): boolean };
  /** Exchange Online's 3 concurrent SMTP AUTH connections per mailbox; the next gets 432 4.3.2. */
  connectionsPerUser?: number;
  /** Relay connector: the SHA-256 fingerprint of the client certificate it trusts; others may not relay. */
  relayCertificateFingerprint256?: string;
  /** Answers drawn per command when none is scripted (the chaos test's random failures). */
  chaos?: (stage: SmtpStage) => SmtpScript | undefined;
  /**
   * Refuse a message whose Message-ID the authenticated user already submitted, as Exchange Online is
   * reported to (`554 5.2.0 …MapiExceptionDuplicateDelivery`; eventum/eventum#415).
   */
  refuseDuplicateMessageIds?: boolean;
  /**
   * Password logins as Exchange Online answers them from the end of December 2026: `enabled`; `disabled`
   * (535 5.7.139 at AUTH, SMTP AUTH basic off for the tenant); `retired` (AUTH taken, then 550 5.7.30 at MAIL);
   * `refused` (535 5.7.3 for a password that is right, as Exchange may answer once basic auth is off).
   * Changeable at run time with `setBasicAuth`.
   */
  basicAuth?: BasicAuthMode;
  /**
   * The tenant behind the endpoint: its accepted domains, and its external recipient limit (TERRL): once this
   * many external recipients were accepted, each further one gets 550 5.7.233 at RCPT (`setExternalAllowance`
   * resets the count, as the 24 h window ageing out would).
   */
  tenant?: { acceptedDomains: string[]; externalRecipientsPerDay?: number };
  /** Set-OrganizationConfig -RejectDirectSend $true: anonymous mail from an accepted domain gets 550 5.7.68. */
  rejectDirectSend?: boolean;
}

export type BasicAuthMode = "enabled" | "disabled" | "retired" | "refused";

// Exchange Online's texts (Exchange Team blog on SMTP AUTH basic auth retirement; nodemailer issues #1484, #1714;
// the TERRL and Reject Direct Send announcements), as devices see them.
export const exchangeReplies = {
  basicAuthDisabled:
    "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.",
  basicAuthRetired: "550 5.7.30 Basic authentication is not supported for Client Submission.",
  authUnsuccessful: "535 5.7.3 Authentication unsuccessful",
  tenantExternalLimit:
    "550 5.7.233 Your message can't be sent because your tenant has exceeded its daily limit for sending email to external recipients (tenant external recipient rate limit)",
  rejectDirectSend:
    "550 5.7.68 TenantInboundAttribution; Direct Send not allowed for this organization from unauthorized sources",
} as const;

export interface ReceivedMessage {
  from: string;
  to: string[];
  user?: string;
  authMethod?: string;
  secure: boolean;
  clientCertificateFingerprint256?: string;
  raw: Buffer;
}

interface SessionInfo {
  user?: string;
  authMethod?: string;
  secure: boolean;
  certificate?: string;
}

/**
 * A loopback SMTP server standing in for Exchange Online (smtp.office365.com, smtp.hve.mx.microsoft, or the
 * tenant's MX endpoint): STARTTLS with the test certificate, AUTH PLAIN/LOGIN/XOAUTH2, an optional relay
 * certificate check, the per-mailbox connection limit, basic authentication turned off or retired, the
 * tenant's external recipient limit, Reject Direct Send, and replies scripted per test.
 */
export async function startSmtpPeer(options: SmtpPeerOptions) {
  const received: ReceivedMessage[] = [];
  const scripts: SmtpScript[] = [];
  const sessions = new Map<string, SessionInfo>();
  const activeByUser = new Map<string, number>();
  let maxConcurrentPerUser = 0;
  let connections = 0;
  let basicAuth: BasicAuthMode = options.basicAuth ?? "enabled";
  let externalAllowance = options.tenant?.externalRecipientsPerDay ?? Number.POSITIVE_INFINITY;
  let externalAccepted = 0;
  const accepted = new Set((options.tenant?.acceptedDomains ?? []).map((d) => d.toLowerCase()));
  const domain = (address: string) => address.slice(address.lastIndexOf("@") + 1).toLowerCase();

  const submittedIds = new Set<string>();
  const destroy = (session: SMTPServerSession) => {
    for (const connection of server.connections) {
      const c = connection as unknown as { id: string; _socket: { destroy(): void } };
      if (c.id === session.id) c._socket.destroy();
    }
  };

  /** True when a script answered; "accept-then-reset" when the message is to be kept, then the reply lost. */
  const scripted = (
    stage: SmtpStage,
    session: SMTPServerSession,
    callback: (error?: Error | null) => void,
  ): boolean | "accept-then-reset" => {
    const index = scripts.findIndex((s) => s.stage === stage);
    const script = index >= 0 ? scripts[index]! : options.chaos?.(stage);
    if (!script) return false;
    if (index >= 0) {
      script.times = (script.times ?? 1) - 1;
      if (script.times <= 0) scripts.splice(index, 1);
    }
    if (script.acceptThenReset) return "accept-then-reset";
    if (script.hang) return true;
    if (script.reset) {
      destroy(session);
      return true;
    }
    callback(replyError(script.reply ?? "451 4.3.0 scripted"));
    return true;
  };

  const auth = options.auth;
  const server = new SMTPServer({
    secure: false,
    key: options.tls.key,
    cert: options.tls.cert,
    minVersion: "TLSv1.2",
    hideSTARTTLS: options.startTls === false,
    disabledCommands: [...(auth ? [] : ["AUTH"]), ...(options.startTls === false ? ["STARTTLS"] : [])],
    authMethods: ["PLAIN", "LOGIN", "XOAUTH2"],
    allowInsecureAuth: false,
    authOptional: !auth,
    size: 200 * 1024 * 1024,
    ...(options.relayCertificateFingerprint256 ? { requestCert: true, rejectUnauthorized: false } : {}),
    onConnect(session, callback) {
      connections++;
      sessions.set(session.id, { secure: false });
      callback();
    },
    onSecure(socket, session, callback) {
      const info = sessions.get(session.id);
      if (info) {
        info.secure = true;
        const peer = (socket as TLSSocket).getPeerCertificate?.();
        if (peer && "fingerprint256" in peer && peer.fingerprint256) info.certificate = peer.fingerprint256;
      }
      callback();
    },
    onAuth(login, session, callback) {
      if (scripted("auth", session, callback) === true) return;
      const user = login.username ?? "";
      if (login.method !== "XOAUTH2" && basicAuth === "disabled")
        return callback(replyError(exchangeReplies.basicAuthDisabled));
      if (login.method !== "XOAUTH2" && basicAuth === "refused")
        return callback(replyError(exchangeReplies.authUnsuccessful));
      const ok =
        login.method === "XOAUTH2"
          ? !!auth?.tokenValid?.(user, login.accessToken ?? "")
          : auth?.passwords?.[user] !== undefined && auth.passwords[user] === login.password;
      if (!ok) return callback(replyError("535 5.7.3 Authentication unsuccessful"));
      const active = (activeByUser.get(user) ?? 0) + 1;
      if (options.connectionsPerUser && active > options.connectionsPerUser) {
        return callback(replyError("432 4.3.2 Concurrent connections limit exceeded"));
      }
      activeByUser.set(user, active);
      maxConcurrentPerUser = Math.max(maxConcurrentPerUser, active);
      const info = sessions.get(session.id);
      if (info) Object.assign(info, { user, authMethod: login.method });
      callback(null, { user });
    },
    onMailFrom(_address, session, callback) {
      if (scripted("mail", session, callback) === true) return;
      const info = sessions.get(session.id);
      if (auth && !info?.user)
        return callback(replyError("530 5.7.57 Client not authenticated to send mail"));
      if (info?.authMethod && info.authMethod !== "XOAUTH2" && basicAuth === "retired")
        return callback(replyError(exchangeReplies.basicAuthRetired));
      if (
        options.relayCertificateFingerprint256 &&
        info?.certificate !== options.relayCertificateFingerprint256
      ) {
        return callback(replyError("550 5.7.64 TenantAttribution; Relay Access Denied"));
      }
      callback();
    },
    onRcptTo(address, session, callback) {
      if (scripted("rcpt", session, callback) === true) return;
      const info = sessions.get(session.id);
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
      const anonymous = !info?.user && info?.certificate === undefined;
      if (options.rejectDirectSend && anonymous && accepted.has(domain(from)))
        return callback(replyError(exchangeReplies.rejectDirectSend));
      if (options.tenant && !accepted.has(domain(address.address))) {
        if (externalAccepted >= externalAllowance)
          return callback(replyError(exchangeReplies.tenantExternalLimit));
        externalAccepted++;
      }
      callback();
    },
    onData(stream, session, callback) {
      buffer(stream).then((raw) => {
        const answer = scripted("data", session, callback);
        if (answer === true) return;
        const info = sessions.get(session.id);
        const messageId = /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(raw.toString("latin1"))?.[1];
        const submission = `${info?.user ?? ""} ${messageId ?? ""}`;
        if (options.refuseDuplicateMessageIds && messageId && submittedIds.has(submission)) {
          return callback(
            replyError(
              "554 5.2.0 STOREDRV.Submission.Exception:StoragePermanentException.MapiExceptionDuplicateDelivery; " +
                "Failed to process message due to a permanent exception",
            ),
          );
        }
        if (messageId) submittedIds.add(submission);
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          user: info?.user,
          authMethod: info?.authMethod,
          secure: info?.secure ?? false,
          clientCertificateFingerprint256: info?.certificate,
          raw,
        });
        if (answer === "accept-then-reset") destroy(session);
        else callback();
      }, callback);
    },
    onClose(session) {
      const user = sessions.get(session.id)?.user;
      if (user) activeByUser.set(user, (activeByUser.get(user) ?? 1) - 1);
      sessions.delete(session.id);
    },
  });
  // Without an error listener a failed TLS handshake would crash the process.
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;

  return {
    host: "localhost",
    port,
    received,
    /** Highest number of simultaneous authenticated connections one user had. */
    maxConcurrentPerUser: () => maxConcurrentPerUser,
    connections: () => connections,
    script(script: SmtpScript): void {
      scripts.push({ ...script });
    },
    /** Changes how password logins are answered from now on (see `SmtpPeerOptions.basicAuth`). */
    setBasicAuth(mode: BasicAuthMode): void {
      basicAuth = mode;
    },
    /** Sets the tenant's external recipient allowance afresh, as the 24 h window ageing out would. */
    setExternalAllowance(recipients: number): void {
      externalAllowance = recipients;
      externalAccepted = 0;
    },
    /** External recipients accepted so far (since the last `setExternalAllowance`). */
    externalAccepted: () => externalAccepted,
    stop(): Promise<void> {
      for (const connection of server.connections) {
        (connection as unknown as { _socket: { destroy(): void } })._socket.destroy();
      }
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export type SmtpPeer = Awaited<ReturnType<typeof startSmtpPeer>>;

/** An smtp-server error that replies `reply` verbatim: `"550 5.7.60 text"` → code 550, text `5.7.60 text`. */
function replyError(reply: string): Error {
  const [, code = "451", text = ""] = /^(\d{3})\s?(.*)$/.exec(reply) ?? [];
  return Object.assign(new Error(text), { responseCode: Number(code) });
}
