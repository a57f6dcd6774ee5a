import { type CheckResult, fail, pass } from "./result.js";

/**
 * The deployed app at MAILHOOK_URL answers `GET /health`. Every function loads the settings first, so a 5xx here
 * means the app could not start: on a first deployment, most often a Key Vault reference the platform has not
 * resolved yet (the app then sees "@Microsoft.KeyVault(...)" and its configuration check names the setting).
 */
export async function checkDeployedApp(baseUrl: string, timeoutMs: number): Promise<CheckResult[]> {
  const url = `${baseUrl.replace(/\/+$/, "")}/health`;
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
      "MAILHOOK_URL must end in /api (the MAILHOOK_URL output of `azd provision`); check that `azd deploy` finished.",
    ),
  ];
}
