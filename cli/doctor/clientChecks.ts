import type { Config } from "../../shared/config.js";
import { domainOf } from "../../shared/domain/address.js";
import { type CheckResult, fail, pass, warn } from "./result.js";

/** The domains a client's sender patterns name (`a@x` and `*@x` both give `x`; `*` gives none). */
export function senderDomains(senders: readonly string[]): string[] {
  return [...new Set(senders.filter((s) => s !== "*").map((s) => domainOf(s)))];
}

/**
 * Each client's senders and transport against the rest of the settings, as Microsoft's comparison of the
 * sending options has them (https://learn.microsoft.com/exchange/mail-flow-best-practices/how-to-set-up-a-multifunction-device-or-application-to-send-email-using-microsoft-365-or-office-365).
 */
export function checkClients(config: Config): CheckResult[] {
  const results: CheckResult[] = [];
  const accepted = new Set(config.tenant.acceptedDomains ?? []);
  for (const client of config.clients) {
    const name = `client ${client.id}`;
    const before = results.length;
    if (client.senders.includes("*"))
      results.push(
        fail(
          name,
          'sender "*" allows any address',
          "List the mailboxes (a@x) or domains (*@x) this client may send as.",
        ),
      );
    if (client.transport === "direct" || client.transport === "relay" || client.transport === "hve") {
      const outside = senderDomains(client.senders).filter((d) => !accepted.has(d));
      if (outside.length > 0)
        results.push(
          fail(
            name,
            `${client.transport} sends as ${outside.join(", ")}, not in ACCEPTED_DOMAINS`,
            "Direct Send, relay and High Volume Email accept only senders in the tenant's accepted domains: fix the senders or ACCEPTED_DOMAINS.",
          ),
        );
    }
    if (client.transport === "direct" || client.transport === "relay") {
      if (client.saveToSentItems)
        results.push(
          warn(
            name,
            `saveToSentItems is set but ${client.transport} keeps no Sent Items copy`,
            "Use graph or smtp to keep copies.",
          ),
        );
    }
    if (client.transport === "direct" || client.transport === "hve") {
      const external = (client.recipientDomains ?? []).filter((d) => !accepted.has(d));
      const what = client.transport === "hve" ? "High Volume Email" : "Direct Send";
      if (external.length > 0)
        results.push(
          fail(
            name,
            `${what} cannot reach ${external.join(", ")} (internal recipients only)`,
            "Use relay, smtp or graph for external recipients.",
          ),
        );
    }
    if (client.transport === "smtp" && config.smtp.auth === "basic") {
      const passwords = config.smtp.passwords;
      const missing = client.senders.filter((s) => !passwords[s] && !passwords["*"]);
      if (missing.length > 0)
        results.push(
          fail(
            name,
            `no SMTP_PASSWORDS entry for ${missing.join(", ")}`,
            "SMTP AUTH basic signs in as each mailbox: add {mailbox: password} for every sender, or use SMTP_AUTH=oauth2.",
          ),
        );
    }
    if (results.length === before)
      results.push(pass(name, `${client.transport}, senders ${client.senders.join(", ")}`));
  }
  return results;
}
