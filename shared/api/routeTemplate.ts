import { ProblemError } from "../domain/problem.js";

/** One segment of a Functions route template: `messages`, `{id}`, `{n:int}` (constraint ignored) or `{tail?}`. */
type Segment = { literal: string } | { param: string };

function segments(template: string): Segment[] {
  return template.split("/").map((part) => {
    const param = /^\{(\w+)(?::[^}]*)?\??\}$/.exec(part)?.[1];
    return param ? { param } : { literal: part };
  });
}

/** `v1/messages/{id}` (Functions syntax) as an OpenAPI path: `/v1/messages/{id}`. */
export function openApiPath(template: string): string {
  return `/${segments(template)
    .map((s) => ("param" in s ? `{${s.param}}` : s.literal))
    .join("/")}`;
}

/**
 * Matches request paths against a route template under the host's route prefix (`api`), as the Functions
 * host does: the path parameters, percent-decoded, or undefined when the path is another route's. A
 * malformed percent-encoding is the caller's mistake: 400, not a dropped connection.
 */
export function routeMatcher(
  template: string,
  routePrefix: string,
): (pathname: string) => Record<string, string> | undefined {
  const parts = segments(template);
  const prefix = routePrefix ? `/${routePrefix}` : "";
  return (pathname) => {
    if (!pathname.startsWith(`${prefix}/`)) return undefined;
    const given = pathname
      .slice(prefix.length + 1)
      .replace(/\/$/, "")
      .split("/");
    if (given.length !== parts.length) return undefined;
    const params: Record<string, string> = {};
    for (const [i, part] of parts.entries()) {
      const value = given[i] ?? "";
      if ("literal" in part) {
        if (value !== part.literal) return undefined;
      } else if (value === "") return undefined;
      else params[part.param] = decodePathSegment(value);
    }
    return params;
  };
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
