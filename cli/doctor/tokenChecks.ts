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
 * Mail.Send for graph, SMTP.SendAsApp for smtp with OAuth. Tokens are never printed.
 */
export async function checkTokens(
  config: Config,
  needs: { graph: boolean; smtp: boolean },
  provider: TokenProvider | undefined = config.entra && createTokenProvider(config.entra),
): Promise<CheckResult[]> {
  if (!provider) return [];
  const wanted = [
    ...(needs.graph
      ? [{ scope: graphScope(config.graphEndpoint), role: "Mail.Send", api: "Microsoft Graph" }]
      : []),
    ...(needs.smtp
      ? [{ scope: exchangeSmtpScope, role: "SMTP.SendAsApp", api: "Office 365 Exchange Online" }]
      : []),
  ];
  const results: CheckResult[] = [];
  for (const { scope, role, api } of wanted) {
    const name = `entra token ${scope}`;
    try {
      const { token } = await provider.getToken(scope, { forceRefresh: true });
      const roles = tokenRoles(token);
      results.push(
        roles.includes(role)
          ? pass(name, `obtained; carries ${role}`)
          : fail(
              name,
              `obtained, but without ${role} (roles: ${roles.join(", ") || "none"})`,
              `Add the application permission ${api} → ${role} to the app registration and grant admin consent.`,
            ),
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
