import { isIP } from "node:net";
import { type CheckResult, fail, pass } from "./result.js";
import { probeSmtp } from "./smtpProbe.js";

/** What Exchange Online accepts (TLS 1.2 or later). */
export const tlsVersions = ["TLSv1.2", "TLSv1.3"];

/** Endpoint settings as written (before validation), so the doctor can name what config would refuse. */
export function checkEndpointSettings(env: Record<string, string | undefined>): CheckResult[] {
  const results: CheckResult[] = [];
  if (env.SMTP_PORT === "465")
    results.push(
      fail(
        "smtp port",
        "SMTP_PORT is 465 (implicit TLS), which Microsoft 365 does not offer for client submission",
        "Use 587 with STARTTLS; a device that only knows 465 cannot use SMTP AUTH submission (Microsoft's guide to sending from devices).",
      ),
    );
  for (const name of ["SMTP_HOST", "MX_ENDPOINT"]) {
    const host = env[name];
    if (host && isIP(host) !== 0)
      results.push(
        fail(
          name.toLowerCase().replace("_", " "),
          `${name} is the IP address ${host}`,
          "Use the DNS name (smtp.office365.com, or the MX endpoint such as contoso-com.mail.protection.outlook.com): Microsoft 365 does not support IP addresses.",
        ),
      );
  }
  return results;
}

/**
 * The SMTP AUTH submission endpoint: answers EHLO, offers STARTTLS, negotiates TLS 1.2+, and advertises the
 * mechanism SMTP_AUTH needs (XOAUTH2 for oauth2; LOGIN or PLAIN for basic).
 */
export async function checkSubmission(
  host: string,
  port: number,
  auth: "oauth2" | "basic",
  options: { timeoutMs?: number; label?: "smtp" | "hve" } = {},
): Promise<CheckResult[]> {
  const label = options.label ?? "smtp";
  const name = `${label} ${host}:${port}`;
  const probe = await probeSmtp(host, port, options);
  const results: CheckResult[] = [];
  if (!probe.greeting)
    return [
      fail(
        name,
        `no SMTP answer: ${probe.error}`,
        label === "hve"
          ? "Check HVE_HOST and HVE_PORT (smtp.hve.mx.microsoft:587), and that outbound TCP to it is allowed."
          : "Check SMTP_HOST and SMTP_PORT, and that outbound TCP to it is allowed.",
      ),
    ];
  if (probe.extensions.length === 0)
    return [
      fail(
        name,
        `EHLO failed: ${probe.error ?? "no extensions"}`,
        "Check that SMTP_HOST is an SMTP submission endpoint.",
      ),
    ];
  results.push(pass(`${name} ehlo`, probe.greeting));
  if (!probe.startTls)
    return [
      ...results,
      fail(
        `${name} starttls`,
        "STARTTLS is not offered",
        "Use smtp.office365.com:587, which requires STARTTLS.",
      ),
    ];
  if (!probe.tlsProtocol || !tlsVersions.includes(probe.tlsProtocol))
    return [
      ...results,
      fail(
        `${name} tls`,
        `TLS 1.2 or later could not be negotiated: ${probe.error ?? probe.tlsProtocol}`,
        "Exchange Online requires TLS 1.2+; check the host name matches its certificate and nothing intercepts TLS.",
      ),
    ];
  results.push(pass(`${name} tls`, `STARTTLS negotiated ${probe.tlsProtocol}`));
  const wanted = auth === "oauth2" ? ["XOAUTH2"] : ["LOGIN", "PLAIN"];
  const offered = probe.authMechanisms;
  if (wanted.some((m) => offered.includes(m)))
    results.push(pass(`${name} auth`, `AUTH ${offered.join(" ")}`));
  else
    results.push(
      fail(
        `${name} auth`,
        `AUTH ${offered.join(" ") || "(none)"} lacks ${wanted.join(" or ")} for SMTP_AUTH=${auth}`,
        auth === "oauth2"
          ? "SMTP AUTH may be disabled for the tenant: Set-TransportConfig -SmtpClientAuthenticationDisabled $false, or per mailbox with Set-CASMailbox -SmtpClientAuthenticationDisabled $false."
          : "Enable SMTP AUTH for the mailboxes (Set-CASMailbox -SmtpClientAuthenticationDisabled $false), or move to SMTP_AUTH=oauth2.",
      ),
    );
  return results;
}
