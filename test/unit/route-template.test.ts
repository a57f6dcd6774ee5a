import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readHostSettings } from "../../dev/hostSettings.js";
import { projectRoot } from "../../dev/settings.js";
import { routes } from "../../shared/api/routes.js";
import { functionsHostOrder, routeMatcher, templatesOverlap } from "../../shared/api/routeTemplate.js";

describe("route templates", () => {
  it("match as ASP.NET Core routing does: literals case-insensitive, parameters decoded", () => {
    const match = routeMatcher("api/v1/messages/{id}", "");
    expect(match("/api/v1/messages/abc")).toEqual({ id: "abc" });
    expect(match("/API/V1/Messages/abc")).toEqual({ id: "abc" });
    expect(match("/api/v1/messages/a%20b/")).toEqual({ id: "a b" });
    expect(match("/api/v1/messages")).toBeUndefined();
    expect(match("/api/v1/messages/abc/retry")).toBeUndefined();
    expect(() => match("/api/v1/messages/%E0%A4%A")).toThrow(/percent-encoding/);
  });

  it("let an optional last segment match nothing, and a catch-all match the rest", () => {
    const optional = routeMatcher("{file?}", "");
    expect(optional("/")).toEqual({});
    expect(optional("/index.html")).toEqual({ file: "index.html" });
    expect(optional("/api/health")).toBeUndefined();
    const catchAll = routeMatcher("files/{*rest}", "");
    expect(catchAll("/files")).toEqual({});
    expect(catchAll("/files/a/b%2Fc")).toEqual({ rest: "a/b/c" });
    expect(routeMatcher("items/{n:int}", "")("/items/x")).toBeUndefined();
  });

  it("honour a route prefix when host.json sets one", () => {
    const match = routeMatcher("v1/messages", "api");
    expect(match("/api/v1/messages")).toEqual({});
    expect(match("/v1/messages")).toBeUndefined();
  });

  it("refuse what the two hosts would not do alike", () => {
    expect(() => routeMatcher("items/{n:alpha}", "")).toThrow(/not supported/);
    expect(() => routeMatcher("{*rest}/more", "")).toThrow(/last segment/);
  });

  it("tell overlapping templates from disjoint ones", () => {
    expect(templatesOverlap("items/{id}", "items/recent")).toBe(true);
    expect(templatesOverlap("{*path}", "api/health")).toBe(true);
    expect(templatesOverlap("{file?}", "api/health")).toBe(false);
    expect(templatesOverlap("api/v1/messages/{id}", "api/v1/messages/{id}/retry")).toBe(false);
    expect(templatesOverlap("api/health", "api/v1/messages")).toBe(false);
  });
});

describe("the route table under the Functions host's order", () => {
  it("sorts routes by Function name, ordinal and case-insensitive, as the host does", () => {
    const order = functionsHostOrder([{ name: "getQuota" }, { name: "Console" }, { name: "cancelMessage" }]);
    expect(order.map((r) => r.name)).toEqual(["cancelMessage", "Console", "getQuota"]);
  });

  it("has no two routes that could answer the same request, so no order can shadow one", () => {
    const clashes: string[] = [];
    for (const [i, a] of routes.entries()) {
      for (const b of routes.slice(i + 1)) {
        const sharedMethod = a.methods.some((m) => b.methods.includes(m));
        if (sharedMethod && templatesOverlap(a.route, b.route)) clashes.push(`${a.name} and ${b.name}`);
      }
    }
    expect(clashes).toEqual([]);
  });

  it("keeps the API under /api with host.json's route prefix empty", () => {
    const host = readHostSettings(join(projectRoot(), "host.json"));
    expect(host.http.routePrefix).toBe("");
    expect(JSON.parse(readFileSync(join(projectRoot(), "host.json"), "utf8")).extensions.http).toEqual({
      routePrefix: "",
    });
    for (const route of routes.filter((r) => r.doc !== undefined)) expect(route.route).toMatch(/^api\//);
  });
});
