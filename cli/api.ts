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
  if (!url)
    throw new CliError("Set MAILHOOK_URL (e.g. https://<app>.azurewebsites.net/api) or pass --url.", 2);
  if (!key) throw new CliError("Set MAILHOOK_KEY to your API key or pass --key.", 2);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`MAILHOOK_URL ${url} is not a URL.`, 2);
  }
  // A bare host means the Functions default route prefix.
  const path = parsed.pathname === "/" ? "/api" : parsed.pathname.replace(/\/+$/, "");
  return { baseUrl: `${parsed.origin}${path}`, key };
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
