import type { AddressInfo } from "node:net";
import { Transform, type TransformCallback } from "node:stream";
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerAuthentication,
  type SMTPServerDataStream,
  type SMTPServerOptions,
  type SMTPServerSession,
} from "smtp-server";
import { AuthFailureLimiter } from "../../shared/api/authFailures.js";
import { addressProblem } from "../../shared/domain/address.js";
import type { Logger } from "../../shared/log.js";
import { EdgeApi, type Identity } from "./apiClient.js";
import type { EdgeCertificate } from "./certificate.js";
import type { Networks } from "./networks.js";
import {
  authFailed,
  authUnavailable,
  dataReply,
  replyDetail,
  type SmtpReply,
  senderUnavailable,
} from "./replies.js";
import { VerdictCache } from "./verdicts.js";

/** `starttls`: plain SMTP offering STARTTLS (RFC 3207); `tls`: implicit TLS from the first byte (RFC 8314). */
export type ListenerKind = "starttls" | "tls";

export interface ListenerSpec {
  host: string;
  port: number;
  kind: ListenerKind;
  /** Uses the legacy TLS context (TLS below 1.2 allowed); every other listener stays at TLS 1.2 and up. */
  legacy: boolean;
}

export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2";

export interface EdgeSettings {
  /** The API base, e.g. `https://app.azurewebsites.net/api`. */
  api: string;
  listeners: ListenerSpec[];
  /** The lowest TLS version of the legacy listeners. */
  legacyMinTls: TlsVersion;
  certificate: EdgeCertificate;
  /** Devices that cannot authenticate: from these networks, a session without AUTH sends with that key. */
  allowIps: { networks: Networks; key: string }[];
  /** Networks where AUTH is offered before STARTTLS (a device that cannot do TLS at all, on a LAN you trust). */
  insecureAuth: Networks;
  /** Connections at once, over every listener. */
  maxConnections: number;
  /** The SIZE advertised (RFC 1870) and enforced. */
  maxMessageBytes: number;
  /** The name in the greeting and EHLO answer. */
  hostname: string;
  /** Failed AUTH per device address in `authFailureWindowMs` before the edge stops asking the API. */
  authFailuresPerWindow?: number;
  authFailureWindowMs?: number;
}

export interface RunningEdge {
  listeners: (ListenerSpec & { address: string })[];
  stop(): Promise<void>;
}

/** What the edge knows about one connection: the key it sends with, and the API's answer about that key. */
interface SessionState {
  key?: string;
  identity?: Identity;
}

// Modern clients get Node's defaults at TLS 1.2 and up. A legacy listener also accepts TLS 1.0/1.1, which
// OpenSSL 3 refuses at its default security level 1 (SHA-1 and MD5 in the handshake), hence SECLEVEL=0
// (https://docs.openssl.org/3.0/man3/SSL_CTX_set_security_level/); that listener has its own context, so
// no connection to another listener is ever weakened. RC4 and SSLv3 are gone from OpenSSL 3 altogether.
const legacyCiphers = "DEFAULT@SECLEVEL=0";

/**
 * The SMTP edge: smtp-server listeners (STARTTLS or implicit TLS, modern or legacy TLS) in front of the
 * mailhook API. Each rule is one small hook, as in Haraka's plugins: AUTH asks the API who the key is, MAIL
 * FROM whether it may send as that sender (both cached briefly), RCPT TO checks the address, DATA streams
 * the message to the API and answers `250 2.0.0 Queued as <id>` only after the API's 202. The edge holds
 * nothing: a message the API has not accepted is the device's to send again.
 */
export async function startEdge(settings: EdgeSettings, log: Logger): Promise<RunningEdge> {
  const api = new EdgeApi(settings.api);
  const verdicts = new VerdictCache();
  // Every device reaches the API from the edge's one address: the edge limits failed AUTH per device, so one
  // misconfigured device neither locks out its neighbours at the API nor keeps it busy.
  const failures = new AuthFailureLimiter(
    settings.authFailuresPerWindow ?? 10,
    settings.authFailureWindowMs ?? 60_000,
  );
  const states = new Map<string, SessionState>();
  const stateOf = (session: SMTPServerSession) => {
    let state = states.get(session.id);
    if (!state) {
      state = {};
      states.set(session.id, state);
    }
    return state;
  };

  const identity = async (key: string, sender?: string) => {
    const cached = verdicts.get(key, sender);
    if (cached) return { kind: "ok" as const, value: cached };
    const answer = await api.identity(key, sender);
    if (answer.kind === "ok") verdicts.set(key, sender, answer.value);
    if (answer.kind === "refused") verdicts.forget(key);
    return answer;
  };

  const hooks: Pick<
    SMTPServerOptions,
    "onConnect" | "onSecure" | "onAuth" | "onMailFrom" | "onRcptTo" | "onData" | "onClose"
  > = {
    onConnect(session, callback) {
      if (states.size >= settings.maxConnections) {
        return callback(
          reply({ code: 421, text: "4.3.2 Too many connections to this edge; try again later" }),
        );
      }
      states.set(session.id, {});
      // AUTH is offered only over TLS, or in plain text to the networks allowed to (RFC 4954 section 4).
      if (!session.secure && !settings.insecureAuth.has(session.remoteAddress))
        session.disabledCommands = ["AUTH"];
      callback();
    },
    onSecure(_socket, session, callback) {
      // RFC 3207 section 4.2: nothing learned before the TLS handshake counts after it.
      session.disabledCommands = undefined;
      states.set(session.id, {});
      callback();
    },
    onAuth(auth: SMTPServerAuthentication, session, callback) {
      const source = session.remoteAddress;
      const waitMs = failures.waitMs(source, Date.now());
      if (waitMs > 0) {
        log.warn("edge AUTH refused: too many failures from this address", { remoteAddress: source });
        return callback(reply(authFailed(Math.ceil(waitMs / 1000))));
      }
      const key = auth.password ?? "";
      identity(key).then(
        (answer) => {
          if (answer.kind === "ok") {
            Object.assign(stateOf(session), { key, identity: answer.value });
            log.info("edge AUTH accepted", { remoteAddress: source, clientId: answer.value.clientId });
            return callback(null, { user: answer.value.clientId });
          }
          if (answer.kind === "unavailable") {
            log.warn("edge AUTH: API not reachable", { remoteAddress: source, reason: answer.reason });
            return callback(reply(authUnavailable(answer.reason)));
          }
          failures.fail(source, Date.now());
          log.warn("edge AUTH refused: wrong key", { remoteAddress: source, status: answer.status });
          callback(reply(authFailed()));
        },
        (error: unknown) => callback(reply(authUnavailable(String(error)))),
      );
    },
    onMailFrom(address: SMTPServerAddress, session, callback) {
      const state = stateOf(session);
      const key =
        state.key ?? settings.allowIps.find((rule) => rule.networks.has(session.remoteAddress))?.key;
      if (key === undefined) {
        return callback(
          reply({
            code: 530,
            text: "5.7.0 Authentication required: AUTH with the mailhook API key as the password (after STARTTLS)",
          }),
        );
      }
      if (!address.address) {
        return callback(
          reply({ code: 550, text: "5.7.1 A null sender (MAIL FROM:<>) is not accepted here" }),
        );
      }
      identity(key, address.address).then(
        (answer) => {
          if (answer.kind === "unavailable") return callback(reply(senderUnavailable(answer.reason)));
          if (answer.kind === "refused") return callback(reply(authFailed()));
          const verdict = answer.value.sender;
          if (!verdict?.allowed) {
            log.warn("edge MAIL FROM refused", { clientId: answer.value.clientId, reason: verdict?.reason });
            return callback(
              reply({ code: 550, text: `5.7.1 ${replyDetail(verdict?.reason ?? "sender not allowed")}` }),
            );
          }
          Object.assign(state, { key, identity: answer.value });
          callback();
        },
        (error: unknown) => callback(reply(senderUnavailable(String(error)))),
      );
    },
    onRcptTo(address: SMTPServerAddress, session, callback) {
      const problem = addressProblem(address.address);
      if (problem)
        return callback(reply({ code: 553, text: `5.1.3 ${replyDetail(`${address.address} ${problem}`)}` }));
      const max = stateOf(session).identity?.maxRecipientsPerMessage ?? Number.POSITIVE_INFINITY;
      // RFC 5321 4.5.3.1.10: past the limit, 452 and the client sends the rest in another transaction.
      if (session.envelope.rcptTo.length >= max) {
        return callback(reply({ code: 452, text: `4.5.3 Too many recipients; at most ${max} per message` }));
      }
      callback();
    },
    onData(stream: SMTPServerDataStream, session, callback) {
      const state = stateOf(session);
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
      const recipients = session.envelope.rcptTo.map((r) => r.address);
      // Over SIZE: stop the upload (the API must not get a cut message) and answer 552 once the DATA ends.
      const guard = new Transform({
        transform(chunk: Buffer, _encoding, done: TransformCallback) {
          if (stream.sizeExceeded) done(new Error(`message over ${settings.maxMessageBytes} bytes`));
          else done(null, chunk);
        },
      });
      stream.on("error", (error) => guard.destroy(error));
      stream.pipe(guard);
      api.submit(state.key ?? "", guard, { from, recipients }).then((answer) => {
        if (!stream.readableEnded) {
          stream.unpipe(guard);
          stream.resume();
        }
        if (stream.sizeExceeded) {
          log.warn("edge message refused: over SIZE", {
            clientId: state.identity?.clientId,
            bytes: stream.byteLength,
          });
          return callback(
            reply({
              code: 552,
              text: `5.3.4 Message size exceeds the limit of ${settings.maxMessageBytes} bytes`,
            }),
          );
        }
        const smtp = dataReply(answer);
        if (answer.kind === "ok") {
          log.info("edge message queued", {
            messageId: answer.value.id,
            clientId: state.identity?.clientId,
            recipients: recipients.length,
            bytes: stream.byteLength,
          });
          return callback(null, smtp.text);
        }
        if (answer.kind === "refused" && answer.status === 401 && state.key) verdicts.forget(state.key);
        log.warn("edge message not queued", {
          clientId: state.identity?.clientId,
          reply: smtp.code,
          reason: answer.kind === "refused" ? answer.problem.detail : answer.reason,
        });
        callback(reply(smtp));
      });
    },
    onClose(session) {
      states.delete(session.id);
    },
  };

  const servers: { server: SMTPServer; spec: ListenerSpec }[] = [];
  const running: RunningEdge["listeners"] = [];
  try {
    for (const spec of settings.listeners) {
      const tls = spec.legacy
        ? { minVersion: settings.legacyMinTls, ciphers: legacyCiphers }
        : { minVersion: "TLSv1.2" as const };
      const server = new SMTPServer({
        ...hooks,
        secure: spec.kind === "tls",
        key: settings.certificate.key,
        cert: settings.certificate.cert,
        ...tls,
        name: settings.hostname,
        banner: "mailhook edge",
        // SIZE (RFC 1870); a message that passes it is answered 552 5.3.4 in onData.
        size: settings.maxMessageBytes,
        authMethods: ["PLAIN", "LOGIN"],
        // AUTH is checked at MAIL FROM (a session from an --allow-ip network needs none), and offered per
        // session (onConnect), so smtp-server's server-wide switches stay open.
        authOptional: true,
        allowInsecureAuth: true,
        hideSTARTTLS: spec.kind === "tls",
        // Devices on a LAN often have no reverse DNS entry; the lookup would only delay every greeting.
        disableReverseLookup: true,
        // RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for the next command.
        socketTimeout: 5 * 60_000,
        closeTimeout: 30_000,
        logger: false,
      });
      // Without an error listener a failed TLS handshake would end the process.
      server.on("error", (error: Error) => log.warn("edge connection error", { error: error.message }));
      await listen(server, spec);
      servers.push({ server, spec });
      const address = server.server.address() as AddressInfo;
      running.push({ ...spec, port: address.port, address: address.address });
    }
  } catch (error) {
    await Promise.all(servers.map(({ server }) => close(server)));
    api.close();
    throw error;
  }
  return {
    listeners: running,
    async stop() {
      await Promise.all(servers.map(({ server }) => close(server)));
      api.close();
    },
  };
}

/** An error smtp-server answers with as is: `535` and `5.7.8 Authentication credentials invalid`. */
function reply(smtp: SmtpReply): Error {
  return Object.assign(new Error(smtp.text), { responseCode: smtp.code });
}

function listen(server: SMTPServer, spec: ListenerSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? Object.assign(new Error(`${spec.host}:${spec.port} is already in use`), { code: "EADDRINUSE" })
          : error,
      );
    };
    server.server.once("error", onError);
    server.listen(spec.port, spec.host, () => {
      server.server.off("error", onError);
      resolve();
    });
  });
}

function close(server: SMTPServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
