import { z } from "zod";
import { CliError, type CliIo } from "./io.js";

/** How the CLI reaches a mailhook deployment: `MAILHOOK_URL` / `MAILHOOK_KEY`, or `--url` / `--key`. */
export interface Endpoint {
  /** The API base, e.g. `https://func-mailhook-x.azurewebsites.net/api`. */
  baseUrl: string;
  key: string;
}

export function endpointFrom(io: CliIo, flags: { url?: string; key?: string }): Endpoint {
  const url = flags.url ?? io.env.MAILHOOK_URL;
  const key = flags.key ?? io.env.MAILHOOK_KEY;
  if (!url) throw new CliError("Set MAILHOOK_URL (e.g. https://<app>.azurewebsites.net) or pass --url.", 2);
  if (!key) throw new CliError("Set MAILHOOK_KEY to your API key or pass --key.", 2);
  return { baseUrl: apiBaseUrl(url), key };
}

/** The API base of a deployment URL as typed (see `apiBase`); an http(s) URL or a usage error. */
export function apiBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`MAILHOOK_URL ${url} is not a URL.`, 2);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new CliError(`MAILHOOK_URL ${url} is not an http(s) URL.`, 2);
  }
  return apiBase(parsed);
}

/**
 * The API base from whatever a person pastes: the app's address (`https://app.azurewebsites.net`), the API
 * (`…/api`), or the version (`…/api/v1`, even `…/api/v1/messages`), with or without a trailing slash. A bare
 * host means the Functions default route prefix, `api`.
 */
export function apiBase(url: URL): string {
  const path = url.pathname
    .replace(/\/+$/, "")
    .replace(/\/v1(\/messages)?$/, "")
    .replace(/\/+$/, "");
  return `${url.origin}${path === "" ? "/api" : path}`;
}

export function authHeaders(endpoint: Endpoint): Record<string, string> {
  return { authorization: `Bearer ${endpoint.key}` };
}

const problemSchema = z.looseObject({
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

/** A non-2xx answer as one readable error (RFC 9457 problem details when the server sent them). */
export function problemError(status: number, body: string): CliError {
  let parsedBody: unknown;
  try {
    parsedBody = JSON.parse(body);
  } catch {
    return new CliError(`HTTP ${status}: ${body.slice(0, 300)}`);
  }
  const problem = problemSchema.safeParse(parsedBody);
  if (!problem.success) return new CliError(`HTTP ${status}: ${body.slice(0, 300)}`);
  const fields = (problem.data.errors ?? []).map((e) => `\n  ${e.field}: ${e.message}`).join("");
  return new CliError(`HTTP ${status} ${problem.data.title ?? ""}: ${problem.data.detail ?? ""}${fields}`);
}

/** GET a JSON resource of the API. */
export async function getJson(endpoint: Endpoint, path: string): Promise<unknown> {
  const response = await fetch(`${endpoint.baseUrl}${path}`, { headers: authHeaders(endpoint) });
  const text = await response.text();
  if (!response.ok) throw problemError(response.status, text);
  return JSON.parse(text) as unknown;
}
