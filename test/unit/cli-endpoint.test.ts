import { describe, expect, it } from "vitest";
import { apiBase } from "../../cli/api.js";

describe("MAILHOOK_URL", () => {
  it.each([
    "https://app.azurewebsites.net",
    "https://app.azurewebsites.net/",
    "https://app.azurewebsites.net/api",
    "https://app.azurewebsites.net/api/",
    "https://app.azurewebsites.net/api/v1",
    "https://app.azurewebsites.net/api/v1/",
    "https://app.azurewebsites.net/api/v1/messages",
  ])("%s is the API at /api", (url) => {
    expect(apiBase(new URL(url))).toBe("https://app.azurewebsites.net/api");
  });

  it("keeps a path prefix in front of the API (a reverse proxy's)", () => {
    expect(apiBase(new URL("http://127.0.0.1:8080/mailhook/api/v1"))).toBe(
      "http://127.0.0.1:8080/mailhook/api",
    );
  });
});
