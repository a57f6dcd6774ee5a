import type { Client, TransportName } from "../../shared/domain/client.js";
import { basicAuthFix } from "../../shared/transport/smtp/advice.js";
import { classifySmtpReply } from "../../shared/transport/smtp/outcome.js";
import { type CheckResult, fail, pass, warn } from "./result.js";
import { type ProbeLogin, probeSmtp } from "./smtpProbe.js";

// Each login that fails counts towards Exchange's continuous-error throttling: a few mailboxes tell enough.
const maxMailboxes = 5;

/** The mailboxes a transport's clients name exactly (senders and default senders; `*@x` names none). */
export function namedMailboxes(clients: readonly Client[], transport: TransportName): string[] {
  const named = clients
    .filter((c) => c.transport === transport)
    .flatMap((c) => [...c.senders, ...(c.defaultSender ? [c.defaultSender] : [])])
    .filter((s) => !s.includes("*"))
    .map((s) => s.toLowerCase());
  return [...new Set(named)].slice(0, maxMailboxes);
}

/**
 * Signs in as each mailbox the way the transport will (AUTH over STARTTLS, then MAIL FROM and RSET; no message
 * is sent) and reads Exchange's answers with the transport's own classifier, so the doctor says before the
 * first send what a status reason would say after it: basic authentication disabled (535 5.7.139), retired
 * (550 5.7.30), a refused password or token (535 5.7.3). Passwords and tokens are never printed.
 */
export async function checkLogins(
  target: { label: string; host: string; port: number; transport: TransportName },
  logins: { mailbox: string; login: ProbeLogin }[],
  timeoutMs?: number,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const { mailbox, login } of logins) {
    const name = `${target.label} ${target.host}:${target.port} login ${mailbox}`;
    const probe = await probeSmtp(target.host, target.port, { login, ...(timeoutMs ? { timeoutMs } : {}) });
    const context = {
      transport: target.transport,
      mailbox,
      login: login.method === "PLAIN" ? ("password" as const) : ("oauth2" as const),
    };
    const answer = probe.authReply?.startsWith("235") ? probe.mailReply : probe.authReply;
    if (!answer) {
      results.push(
        fail(
          name,
          `no answer to AUTH: ${probe.error ?? "the session ended before it"}`,
          "See the TLS check above.",
        ),
      );
      continue;
    }
    const outcome = classifySmtpReply(answer, context);
    if (outcome?.kind === "sent") {
      results.push(pass(name, `AUTH ${login.method} and MAIL FROM accepted`));
    } else if (outcome?.kind === "permanent") {
      results.push(
        fail(name, answer, outcome.reason ?? "Exchange Online refuses this mailbox; see the answer's code."),
      );
    } else {
      results.push(warn(name, answer, "A temporary answer: run the doctor again in a few minutes."));
    }
  }
  return results;
}

/** Basic authentication for SMTP AUTH is off by default for existing tenants from the end of December 2026. */
export function basicAuthNotice(transport: TransportName, accounts: string): CheckResult {
  return warn(
    `${transport} basic authentication`,
    `${accounts} sign in with a password; Exchange Online turns basic authentication for SMTP AUTH off by ` +
      "default for existing tenants from the end of December 2026 and will remove it later",
    basicAuthFix(transport),
  );
}
