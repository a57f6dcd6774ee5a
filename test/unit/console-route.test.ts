import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { consoleDirectory } from "../../shared/api/console/files.js";
import { consoleRoute } from "../../shared/api/console/route.js";
import { routes } from "../../shared/api/routes.js";
import { functionsHostOrder, routeMatcher } from "../../shared/api/routeTemplate.js";
import { call } from "../support/http.js";

// The built console (npm run build, which `npm test` runs first).
const route = consoleRoute();
const noServices = { services: {} as never };
const get = (file?: string) => call(route, noServices, { params: file === undefined ? {} : { file } });
const built = readdirSync(consoleDirectory());

describe("the console's static files", () => {
  it("serves the page at / with a strict policy, no sniffing and no framing", async () => {
    const page = await get();
    expect(page.status).toBe(200);
    expect(page.headers["Content-Type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["Cache-Control"]).toBe("no-cache");
    const csp = page.headers["Content-Security-Policy"] ?? "";
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
    ])
      expect(csp).toContain(directive);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    expect(page.headers["X-Content-Type-Options"]).toBe("nosniff");
    expect(page.body).toContain('<div id="app">');
  });

  it("serves each built file with its content type, hashed ones cached for good", async () => {
    const script = built.find((f) => f.endsWith(".js"))!;
    const style = built.find((f) => f.endsWith(".css"))!;
    const js = await get(script);
    expect(js.headers["Content-Type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["Cache-Control"]).toBe("public, max-age=31536000, immutable");
    expect(js.headers["Content-Security-Policy"]).toBeDefined();
    expect((await get(style)).headers["Content-Type"]).toBe("text/css; charset=utf-8");
    expect((await get("favicon.svg")).headers["Content-Type"]).toBe("image/svg+xml; charset=utf-8");
  });

  it("has no inline script or style and loads nothing from another host", () => {
    const html = readFileSync(join(consoleDirectory(), "index.html"), "utf8");
    const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toMatch(/\ssrc="\/[^"/]+"/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const css of built.filter((f) => f.endsWith(".css")))
      expect(readFileSync(join(consoleDirectory(), css), "utf8")).not.toMatch(/url\(|@import/);
  });

  it("answers 404 problem+json for anything else, never a file outside the build", async () => {
    for (const file of ["missing.js", "..", "package.json", "host.json", ".env", "index.HTML"]) {
      const response = await get(file);
      expect(response.status, file).toBe(404);
      expect(response.headers["Content-Type"]).toMatch(/^application\/problem\+json/);
    }
  });

  it("can never answer a path of the API, whatever order the host tries routes in", () => {
    const match = routeMatcher(route.route, "");
    for (const path of ["/api/health", "/api/v1/messages", "/api/v1/openapi.json", "/admin/host/status"])
      expect(match(path), path).toBeUndefined();
    expect(match("/")).toEqual({});
    // Under the host's order the console comes before several API Functions; it shadows none of them.
    const order = functionsHostOrder(routes).map((r) => r.name);
    expect(order.indexOf("console")).toBeLessThan(order.indexOf("getMessage"));
  });
});
