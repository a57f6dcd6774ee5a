import { apiBase } from "../api.js";
import { type CheckResult, fail, pass } from "./result.js";

/**
 * The deployed app at MAILHOOK_URL answers `GET /health`. Every function loads the settings first, so a 5xx here
 * means the app could not start: on a first deployment, most often a Key Vault reference the platform has not
 * resolved yet (the app then sees "@Microsoft.KeyVault(...)" and its configuration check names the setting).
 */
export async function checkDeployedApp(baseUrl: string, timeoutMs: number): Promise<CheckResult[]> {
  let base: string;
  try {
    // The same reading of MAILHOOK_URL as send and status: the app's address, with or without /api or /api/v1.
    base = apiBase(new URL(baseUrl));
  } catch {
    return [
      fail(
        "app",
        `MAILHOOK_URL ${baseUrl} is not a URL`,
        "Set it to the MAILHOOK_URL output of `azd provision`.",
      ),
    ];
  }
  const url = `${base}/health`;
  const name = `app ${url}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return [
      fail(
        name,
        `no answer (${cause ?? (error instanceof Error ? error.message : String(error))})`,
        "Check MAILHOOK_URL (the MAILHOOK_URL output of `azd provision`) and that `azd deploy` finished.",
      ),
    ];
  }
  await response.body?.cancel();
  if (response.ok) return [pass(name, `${response.status}: the app started with its settings`)];
  if (response.status >= 500)
    return [
      fail(
        name,
        `${response.status}: the app could not start with its settings`,
        "Refresh the Key Vault references (`azd hooks run postdeploy`); if it still fails, the app's log in " +
          'Application Insights names each setting it refused (search for "mailhook cannot start").',
      ),
    ];
  return [
    fail(
      name,
      `${response.status}: not a mailhook deployment`,
      "MAILHOOK_URL must be the app's address (the MAILHOOK_URL output of `azd provision`); check that `azd deploy` finished.",
    ),
  ];
}
