import { ProblemError } from "../domain/problem.js";

/**
 * The first segment of every API route. host.json sets `extensions.http.routePrefix` to "" so that the
 * console can answer `/`; the API keeps the paths callers know (`/api/v1/...`) by naming `api/` itself.
 */
export const apiRoot = "api";

/**
 * One segment of a Functions route template: `messages`, `{id}`, `{n:int}`, `{tail?}` (last segment only) or
 * `{*rest}` (last segment only). Matching follows ASP.NET Core routing, which the Functions host uses:
 * literals compare case-insensitively; an optional or catch-all parameter may match nothing.
 */
type Segment =
  | { literal: string }
  | { param: string; optional: boolean; catchAll: boolean; constraint?: "int" };

function segments(template: string): Segment[] {
  const parts = template.split("/");
  return parts.map((part, index): Segment => {
    const match = /^\{(\*?)(\w+)(?::(\w+))?(\??)\}$/.exec(part);
    if (!match) {
      if (/[{}]/.test(part)) throw new Error(`route template ${template}: cannot read segment ${part}`);
      return { literal: part };
    }
    const [, star, param = "", constraint, question] = match;
    const catchAll = star === "*";
    const optional = question === "?";
    if ((catchAll || optional) && index !== parts.length - 1)
      throw new Error(`route template ${template}: only the last segment may be optional or catch-all`);
    // Only what both hosts do alike: an unknown constraint would match here and not there, or the reverse.
    if (constraint !== undefined && constraint !== "int")
      throw new Error(`route template ${template}: constraint ${constraint} is not supported`);
    return { param, optional, catchAll, ...(constraint ? { constraint: "int" as const } : {}) };
  });
}

/**
 * `api/v1/messages/{id}` (Functions syntax) as an OpenAPI path under the document's server URL (which ends
 * in `/api`): `/v1/messages/{id}`.
 */
export function openApiPath(template: string): string {
  const [first, ...rest] = segments(template);
  if (!first || !("literal" in first) || first.literal !== apiRoot)
    throw new Error(`route template ${template} is not under ${apiRoot}/`);
  return `/${rest.map((s) => ("param" in s ? `{${s.param}}` : s.literal)).join("/")}`;
}

/**
 * Matches request paths against a route template under the host's route prefix, as the Functions host does:
 * the path parameters, percent-decoded, or undefined when the path is another route's. A malformed
 * percent-encoding is the caller's mistake: 400, not a dropped connection.
 */
export function routeMatcher(
  template: string,
  routePrefix: string,
): (pathname: string) => Record<string, string> | undefined {
  const parts = segments(template);
  const prefix = routePrefix ? `/${routePrefix}` : "";
  const last = parts[parts.length - 1];
  const catchAll = last !== undefined && "param" in last && last.catchAll;
  const open = catchAll || (last !== undefined && "param" in last && last.optional);
  return (pathname) => {
    if (prefix && !pathname.toLowerCase().startsWith(`${prefix.toLowerCase()}/`)) return undefined;
    const rest = pathname.slice(prefix.length + 1).replace(/\/$/, "");
    const given = rest === "" ? [] : rest.split("/");
    if (given.length > parts.length && !catchAll) return undefined;
    if (given.length < parts.length - (open ? 1 : 0)) return undefined;
    const params: Record<string, string> = {};
    for (const [i, part] of parts.entries()) {
      if ("literal" in part) {
        if (given[i]?.toLowerCase() !== part.literal.toLowerCase()) return undefined;
        continue;
      }
      const value = part.catchAll ? given.slice(i).join("/") : (given[i] ?? "");
      if (value === "") {
        if (part.optional || part.catchAll) continue;
        return undefined;
      }
      if (part.constraint === "int" && !/^-?\d+$/.test(value)) return undefined;
      params[part.param] = value.split("/").map(decodePathSegment).join("/");
    }
    return params;
  };
}

/**
 * The order in which the Functions host tries HTTP routes: its functions sorted by name, ordinal and
 * case-insensitive (`FunctionMetadataManager`), each route added in that order to one route collection where
 * the first match wins (`WebScriptHostHttpRoutesManager`, `WebJobsRouteBuilder.Build`); the host does not
 * rank literal segments above parameters as ASP.NET Core does (azure-functions-host issues #3153, #9876).
 * https://github.com/Azure/azure-functions-host/blob/dev/src/WebJobs.Script/Host/FunctionMetadataManager.cs
 * The local host tries them in the same order, so a route that would shadow another shadows it here too.
 */
export function functionsHostOrder<T extends { name: string }>(routes: readonly T[]): T[] {
  const key = (name: string) => name.toUpperCase();
  return [...routes].sort((a, b) => (key(a.name) < key(b.name) ? -1 : key(a.name) > key(b.name) ? 1 : 0));
}

/**
 * Whether some request path could match both templates (as parsed above): the route table keeps them apart,
 * so which one the host tries first never matters.
 */
export function templatesOverlap(a: string, b: string): boolean {
  const x = segments(a);
  const y = segments(b);
  const bounds = (s: Segment[]) => {
    const last = s[s.length - 1];
    const open = last !== undefined && "param" in last;
    return {
      min: s.length - (open && (last.optional || last.catchAll) ? 1 : 0),
      max: open && last.catchAll ? Number.POSITIVE_INFINITY : s.length,
    };
  };
  const bx = bounds(x);
  const by = bounds(y);
  if (Math.max(bx.min, by.min) > Math.min(bx.max, by.max)) return false;
  const common = Math.min(x.length, y.length);
  for (let i = 0; i < common; i++) {
    const sx = x[i]!;
    const sy = y[i]!;
    if ("literal" in sx && "literal" in sy && sx.literal.toLowerCase() !== sy.literal.toLowerCase())
      return false;
  }
  return true;
}

function decodePathSegment(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ProblemError(
      "badRequest",
      `The path segment ${JSON.stringify(value)} is not valid percent-encoding.`,
    );
  }
}
