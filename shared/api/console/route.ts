import { ProblemError } from "../../domain/problem.js";
import type { ApiResponse, Route } from "../http.js";
import { type ConsoleFile, consoleDirectory, loadConsoleFiles } from "./files.js";

/**
 * How the console's files are served. Script, style, images and API calls from this origin only, nothing
 * inline, no plugin, no <base>, and no framing (clickjacking); the page shows data from callers and the
 * internet, rendered as text, and this keeps a stored script from running even if some text slipped through.
 * MDN, "Content-Security-Policy": https://developer.mozilla.org/docs/Web/HTTP/Headers/Content-Security-Policy
 */
export const consoleSecurityHeaders: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
};

/** File names the build emits: one path segment of letters, digits, dots, dashes and underscores. */
const fileName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * `GET /` and `GET /<file>`: the operator's console, from the built package. Its route is one optional
 * segment, `{file?}`, which no API path (all under `api/…`, two segments or more) can match, whatever order
 * the Functions host tries routes in. Needs no key: the page asks for one and calls the API with it.
 */
export function consoleRoute(directory: () => string = consoleDirectory): Route {
  let files: Promise<Map<string, ConsoleFile>> | undefined;
  return {
    name: "console",
    methods: ["GET"],
    route: "{file?}",
    access: "public",
    handler: async (request) => {
      files ??= loadConsoleFiles(directory());
      const loaded = await files;
      const name = request.params.file || "index.html";
      const file = fileName.test(name) ? loaded.get(name) : undefined;
      if (!file) {
        if (name === "index.html")
          throw new ProblemError("notFound", "The console is not built into this package (npm run build).");
        throw new ProblemError("notFound", `No file ${name} in the console.`);
      }
      const response: ApiResponse = {
        status: 200,
        headers: {
          ...consoleSecurityHeaders,
          "Content-Type": file.contentType,
          "Cache-Control": file.cacheControl,
        },
        body: file.body,
      };
      return response;
    },
  };
}
