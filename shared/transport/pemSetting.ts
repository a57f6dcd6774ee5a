import { readFileSync } from "node:fs";

/**
 * Where a client certificate and its private key come from, named by the setting that gave them:
 * - `pem`: the text of an app setting. In Azure a Key Vault reference fills it: Flex Consumption does not load
 *   certificates (no WEBSITE_LOAD_CERTIFICATES; Microsoft Learn, "Flex Consumption plan hosting", considerations:
 *   https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#considerations), and a file from a
 *   storage mount would need the account's access key, which this deployment's storage account disables.
 * - `path`: a PEM file, for local use.
 */
export type PemSource = { setting: string; pem: string } | { setting: string; path: string };

const pemHeader = "-----BEGIN ";

/**
 * The PEM text of a source. A setting may hold the PEM itself or its base64 form: one line survives `azd env
 * set`, shells and portals that mangle line breaks.
 */
export function pemText(source: PemSource): string {
  if ("path" in source) {
    try {
      return readFileSync(source.path, "utf8");
    } catch (error) {
      throw new Error(
        `${source.setting}: cannot read ${source.path} (${(error as NodeJS.ErrnoException).code ?? error})`,
      );
    }
  }
  const value = source.pem.trim();
  if (value.includes(pemHeader)) return value;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  if (decoded.includes(pemHeader)) return decoded;
  throw new Error(`${source.setting}: is neither PEM text nor base64-encoded PEM`);
}

/** How a source is named in messages: the file for a path, the setting alone for a value (never its text). */
export function pemSourceName(source: PemSource): string {
  return "path" in source ? `${source.setting}: ${source.path}` : source.setting;
}
