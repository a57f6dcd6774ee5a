import { describe, expect, it } from "vitest";
import { apiKeyFrom, ClientRegistry, sha256Hex } from "../../shared/intake/auth.js";
import { ProblemError } from "../../shared/problem.js";

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
        registry.authenticate(new Headers(headers));
      } catch (error) {
        return error instanceof ProblemError ? JSON.stringify(error.toBody()) : "other error";
      }
      return "authenticated";
    };
    expect(problem({ authorization: "Bearer nope" })).toBe(problem({}));
    expect(problem({})).toContain('"status":401');
  });
});
