import type { TransportName } from "../../domain/client.js";
import type { SmtpContext } from "./context.js";

/**
 * What a status reason (and `mailhook doctor`) tells an operator to do about a refused login, per transport.
 * Basic authentication for SMTP AUTH is off by default for existing tenants from the end of December 2026 and
 * will be removed later (https://techcommunity.microsoft.com/blog/exchange/exchange-online-to-retire-basic-auth-for-client-submission-smtp-auth/4114750);
 * OAuth is the lasting path.
 */
export function basicAuthFix(transport: TransportName): string {
  if (transport === "hve") {
    return (
      "Let mailhook sign in to this HVE account with OAuth: remove it from HVE_PASSWORDS, give the Entra app " +
      "the application permission Office 365 Exchange Online → Mail.Send (admin consent), and add the app to " +
      "the account with Add-HVEAppAccess -Identity <account> -AppIds <client id> (docs/hve.md)."
    );
  }
  return (
    "Switch this client to OAuth: set SMTP_AUTH=oauth2 with the Entra app (Office 365 Exchange Online → " +
    "SMTP.SendAsApp with admin consent; New-ServicePrincipal for the app and Add-MailboxPermission on the " +
    "mailbox; docs/basic-auth.md), or use the graph transport, or hve for internal recipients."
  );
}

const mailboxOf = (context: SmtpContext | undefined) => context?.mailbox ?? "this mailbox";

/** 535 5.7.139 (basic authentication disabled for the mailbox or tenant) and 550 5.7.30 (no longer supported). */
export const basicAuthRefused = (code: string) => (context: SmtpContext | undefined) => {
  const what =
    code === "550 5.7.30"
      ? "Exchange Online no longer accepts basic authentication (a password) for client submission"
      : "basic authentication (a password) is disabled for this mailbox or for the tenant";
  return `${mailboxOf(context)} cannot sign in: ${what} (${code}). ${basicAuthFix(context?.transport ?? "smtp")}`;
};

/**
 * 535 5.7.3 after a password login: Exchange's generic refusal. When the same mailbox's password worked
 * before (shared memory of successful logins), the likely cause is basic authentication being turned off,
 * which Exchange reports this way too; otherwise it is most likely a wrong password.
 */
export function passwordRefused(context: SmtpContext | undefined): string {
  const transport = context?.transport ?? "smtp";
  const setting = transport === "hve" ? "HVE_PASSWORDS" : "SMTP_PASSWORDS";
  if (context?.passwordWorkedAt !== undefined) {
    const at = new Date(context.passwordWorkedAt).toISOString();
    return (
      `The password for ${mailboxOf(context)} worked until ${at} and is refused now (535 5.7.3): unless it ` +
      `was changed since (then update ${setting}), basic authentication has been turned off for the mailbox ` +
      `or the tenant. ${basicAuthFix(transport)}`
    );
  }
  return (
    `Exchange Online refused the user name or password of ${mailboxOf(context)} (535 5.7.3). Check ` +
    `${setting}; if it is right, basic authentication may be off for the tenant. ${basicAuthFix(transport)}`
  );
}

/** 535 5.7.3 after XOAUTH2: the token was valid at Entra but Exchange does not let the app send as the mailbox. */
export function tokenRefused(context: SmtpContext | undefined): string {
  if (context?.transport === "hve") {
    return (
      `Exchange Online refused the app's token for the HVE account ${mailboxOf(context)} (535 5.7.3): give the ` +
      "app Office 365 Exchange Online → Mail.Send with admin consent and add it with Add-HVEAppAccess " +
      "(changes take up to 5 minutes)."
    );
  }
  return (
    `Exchange Online refused the app's token for ${mailboxOf(context)} (535 5.7.3): the app needs Office 365 ` +
    "Exchange Online → SMTP.SendAsApp with admin consent, a service principal in Exchange (New-ServicePrincipal) " +
    "and rights on the mailbox (Add-MailboxPermission), and SMTP AUTH must be enabled for the mailbox."
  );
}

/** 550 5.7.68: the tenant rejects Direct Send; a connector makes the same mail authenticated. */
export function directSendRejected(_context: SmtpContext | undefined): string {
  return (
    "The tenant rejects Direct Send (Set-OrganizationConfig -RejectDirectSend $true; 550 5.7.68). Create an " +
    "inbound connector from your organization's email server (by the static outbound IP or a certificate) " +
    "and move this client to the relay transport, or send through smtp or graph (docs/tenant-limits.md)."
  );
}
