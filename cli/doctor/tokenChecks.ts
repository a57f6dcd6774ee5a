import type { Config } from "../../shared/config.js";
import {
  createTokenProvider,
  exchangeSmtpScope,
  graphScope,
  type TokenProvider,
} from "../../shared/transport/entra/tokenProvider.js";
import { type CheckResult, fail, pass } from "./result.js";

/** The application permissions (`roles` claim) of an Entra access token; [] when it carries none. */
export function tokenRoles(token: string): string[] {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
    return Array.isArray(payload.roles) ? payload.roles.filter((r: unknown) => typeof r === "string") : [];
  } catch {
    return [];
  }
}

/**
 * Gets an app-only token the way the transports do and checks it carries the permission each transport needs:
 * Microsoft Graph Mail.Send for graph, Office 365 Exchange Online SMTP.SendAsApp for smtp with OAuth, and
 * Office 365 Exchange Online Mail.Send for hve (OAuth for High Volume Email,
 * https://learn.microsoft.com/exchange/mail-flow-best-practices/oauth-high-volume-mails-m365). The roles the
 * token carries are shown beside the one missing; tokens are never printed.
 */
export async function checkTokens(
  config: Config,
  needs: { graph: boolean; smtp: boolean; hve?: boolean },
  provider: TokenProvider | undefined = config.entra && createTokenProvider(config.entra),
): Promise<CheckResult[]> {
  if (!provider) return [];
  const consent = "to the app registration and grant admin consent.";
  const wanted = [
    ...(needs.graph
      ? [{ scope: graphScope(config.graphEndpoint), role: "Mail.Send", api: "Microsoft Graph", label: "" }]
      : []),
    ...(needs.smtp
      ? [{ scope: exchangeSmtpScope, role: "SMTP.SendAsApp", api: "Office 365 Exchange Online", label: "" }]
      : []),
    ...(needs.hve
      ? [{ scope: exchangeSmtpScope, role: "Mail.Send", api: "Office 365 Exchange Online", label: " (hve)" }]
      : []),
  ];
  const results: CheckResult[] = [];
  const tokens = new Map<string, Promise<string>>();
  for (const { scope, role, api, label } of wanted) {
    const name = `entra token ${scope}${label}`;
    const hve = label !== "";
    try {
      if (!tokens.has(scope))
        tokens.set(
          scope,
          provider.getToken(scope, { forceRefresh: true }).then((t) => t.token),
        );
      const roles = tokenRoles(await tokens.get(scope)!);
      const fix = hve
        ? `Add the application permission ${api} → ${role} ${consent} Then list the app on each HVE account: Add-HVEAppAccess -Identity <account> -AppIds ${config.entra?.clientId ?? "<client id>"} (takes up to 5 minutes).`
        : `Add the application permission ${api} → ${role} ${consent}`;
      results.push(
        roles.includes(role)
          ? pass(name, `obtained; carries ${role}`)
          : fail(name, `obtained, but without ${role} (roles: ${roles.join(", ") || "none"})`, fix),
      );
    } catch (error) {
      results.push(
        fail(
          name,
          `no token: ${error instanceof Error ? error.message : String(error)}`,
          "Check ENTRA_TENANT_ID, ENTRA_CLIENT_ID and the secret or certificate (expired? wrong app?).",
        ),
      );
    }
  }
  return results;
}
