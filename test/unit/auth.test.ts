import { describe, expect, it } from "vitest";
import { apiKeyFrom, ClientRegistry } from "../../shared/api/auth.js";
import { AuthFailureLimiter } from "../../shared/api/authFailures.js";
import { sha256Hex } from "../../shared/domain/client.js";
import { ProblemError } from "../../shared/domain/problem.js";

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("API keys", () => {
  it.each([
    [{ authorization: "Bearer k1" }, "k1"],
    [{ authorization: "bearer   k2" }, "k2"],
    [{ "x-api-key": "k3" }, "k3"],
    [{ authorization: basic("scanner", "k4") }, "k4"],
    [{ authorization: basic("", "k:with:colons") }, "k:with:colons"],
    [{ authorization: basic("scanner", "") }, undefined],
    [{ authorization: "Digest abc" }, undefined],
    [{}, undefined],
  ])("reads %j", (headers, key) => {
    expect(apiKeyFrom(new Headers(headers))).toBe(key);
  });

  it("hashes keys as lowercase hex SHA-256 of their UTF-8 bytes", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  const registry = new ClientRegistry([
    { id: "scanner", keySha256: sha256Hex("key-one"), senders: ["*@contoso.com"], transport: "smtp" },
    { id: "billing", keySha256: sha256Hex("key-two"), senders: ["billing@contoso.com"], transport: "graph" },
  ]);

  it("finds the client holding a key and nobody for an unknown one", () => {
    expect(registry.find("key-two")?.id).toBe("billing");
    expect(registry.find("key-three")).toBeUndefined();
  });

  it("answers an unknown key exactly like a missing one", () => {
    const problem = (headers: Record<string, string>) => {
      try {
        registry.authenticate(new Headers(headers), "203.0.113.7");
      } catch (error) {
        return error instanceof ProblemError ? JSON.stringify(error.toBody()) : "other error";
      }
      return "authenticated";
    };
    expect(problem({ authorization: "Bearer nope" })).toBe(problem({}));
    expect(problem({})).toContain('"status":401');
  });

  it("names all three ways to send a key, and each of them works", () => {
    const detail = (() => {
      try {
        registry.authenticate(new Headers(), "203.0.113.7");
      } catch (error) {
        return error instanceof ProblemError ? error.message : "";
      }
      return "";
    })();
    expect(detail).toBe(
      "A valid API key is needed. Send it in one of three ways: 'Authorization: Bearer <key>', " +
        "'x-api-key: <key>', or HTTP Basic with any user name and the key as the password.",
    );
    const basic = `Basic ${Buffer.from("scanner-7:key-two").toString("base64")}`;
    const ways: Record<string, string>[] = [
      { authorization: "Bearer key-two" },
      { "x-api-key": "key-two" },
      { authorization: basic },
    ];
    for (const headers of ways)
      expect(registry.authenticate(new Headers(headers), "203.0.113.7").id).toBe("billing");
  });

  it.each([
    [{ authorization: "Bearer nope" }, 'Bearer realm="mailhook", error="invalid_token"'],
    [{ "x-api-key": "nope" }, 'Bearer realm="mailhook", error="invalid_token"'],
    [{ authorization: basic("scanner", "nope") }, 'Bearer realm="mailhook", Basic realm="mailhook"'],
    [{}, 'Bearer realm="mailhook", Basic realm="mailhook"'],
  ])("challenges %j with Basic only when the caller did not use a key header", (headers, challenge) => {
    try {
      registry.authenticate(new Headers(headers), "203.0.113.7");
      expect.unreachable("authenticated with a wrong key");
    } catch (error) {
      expect(error instanceof ProblemError && error.headers["WWW-Authenticate"]).toBe(challenge);
    }
  });
});

describe("failed authentication", () => {
  it("is limited per source: 401 up to the limit, then 429 with Retry-After, while a valid key still works", () => {
    let now = 1_000_000;
    const limited = new ClientRegistry(
      [{ id: "scanner", keySha256: sha256Hex("good"), senders: ["*@contoso.com"], transport: "smtp" }],
      new AuthFailureLimiter(3, 60_000),
      () => now,
    );
    const attempt = (key: string, source: string) => {
      try {
        // A header the caller chose changes nothing: only the source the host gives counts.
        return limited.authenticate(
          new Headers({ authorization: `Bearer ${key}`, "x-forwarded-for": `${Math.random()}` }),
          source,
        ).id;
      } catch (error) {
        return error instanceof ProblemError
          ? `${error.status} ${error.headers["Retry-After"] ?? ""}`.trim()
          : "?";
      }
    };
    expect([1, 2].map(() => attempt("bad", "203.0.113.7:5000"))).toEqual(["401", "401"]);
    expect(attempt("bad", "::ffff:203.0.113.7")).toBe("401");
    expect(attempt("bad", "203.0.113.7")).toBe("429 60");
    expect(attempt("bad", "198.51.100.1")).toBe("401");
    expect(attempt("good", "203.0.113.7")).toBe("scanner");
    now += 60_001;
    expect(attempt("bad", "203.0.113.7")).toBe("401");
  });

  it("keeps at most maxSources sources in memory", () => {
    const limiter = new AuthFailureLimiter(1, 60_000, 100);
    for (let i = 0; i < 1000; i++) limiter.fail(`10.0.${i >> 8}.${i & 255}`, 0);
    expect(limiter.fail("10.0.3.231", 0)).toBeGreaterThan(0); // recent, still tracked
    expect(limiter.fail("10.0.0.0", 0)).toBe(0); // evicted long ago, counted afresh
  });
});
