import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ApiAnswer, Identity } from "../../cli/edge/apiClient.js";
import { edgeSettings, parseListen } from "../../cli/edge/command.js";
import { resolveKeyRef } from "../../cli/edge/keyRef.js";
import { Networks } from "../../cli/edge/networks.js";
import { authFailed, dataReply, replyDetail } from "../../cli/edge/replies.js";
import { VerdictCache } from "../../cli/edge/verdicts.js";
import { AuthFailureLimiter } from "../../shared/api/authFailures.js";

describe("the edge's replies to a device", () => {
  it.each([
    [{ kind: "ok", value: { id: "abc" } }, "250 2.0.0 Queued as abc"],
    [
      { kind: "unavailable", reason: "ECONNREFUSED connect" },
      /^451 4\.4\.1 .*ECONNREFUSED.*try again later$/,
    ],
    [{ kind: "refused", status: 401, problem: {} }, "535 5.7.8 Authentication credentials invalid"],
    [
      { kind: "refused", status: 403, problem: { detail: "From: client x may not send as y." } },
      "550 5.7.1 From: client x may not send as y.",
    ],
    [{ kind: "refused", status: 413, problem: { detail: "too big" } }, "552 5.3.4 too big"],
    [{ kind: "refused", status: 400, problem: { detail: "not MIME" } }, "554 5.6.0 not MIME"],
    [
      {
        kind: "refused",
        status: 422,
        problem: { detail: "From: no From", errors: [{ field: "From", message: "x" }] },
      },
      "554 5.6.0 From: no From",
    ],
    [
      {
        kind: "refused",
        status: 422,
        problem: { detail: "outside", errors: [{ field: "Mailhook-Envelope-To", message: "x" }] },
      },
      "550 5.7.1 outside",
    ],
    [{ kind: "refused", status: 409, problem: { detail: "conflict" } }, "554 5.3.0 conflict"],
  ] as [ApiAnswer<{ id: string }>, string | RegExp][])("maps %j", (answer, expected) => {
    const reply = dataReply(answer);
    const text = `${reply.code} ${reply.text}`;
    if (typeof expected === "string") expect(text).toBe(expected);
    else expect(text).toMatch(expected);
  });

  it("keeps a reply on one printable line of at most 400 characters", () => {
    expect(replyDetail("bad\r\nRCPT TO:<x@y>\u00e9")).toBe("bad RCPT TO:<x@y>");
    expect(replyDetail("x".repeat(1000))).toHaveLength(400);
    expect(authFailed(12).text).toBe(
      "5.7.8 Authentication credentials invalid (too many failures from this address; next try in 12 s)",
    );
  });
});

describe("networks and key references", () => {
  it("matches CIDR networks, IPv4-mapped addresses counting as IPv4", () => {
    const networks = new Networks().add("192.168.10.0/24").add("10.1.2.3").add("fd00::/8");
    expect(networks.has("192.168.10.77")).toBe(true);
    expect(networks.has("::ffff:192.168.10.77")).toBe(true);
    expect(networks.has("192.168.11.1")).toBe(false);
    expect(networks.has("10.1.2.3")).toBe(true);
    expect(networks.has("fd12::1")).toBe(true);
    expect(networks.has("not an address")).toBe(false);
    expect(() => new Networks().add("192.168.10.0/33")).toThrow(/prefix/);
    expect(() => new Networks().add("scanners")).toThrow(/not an IP address/);
  });

  it("reads a key from an environment variable or a file, never from the text itself", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mailhook-key-"));
    await writeFile(join(dir, "key"), "mh_from_file\n");
    expect(resolveKeyRef("env:SCANNER_KEY", { SCANNER_KEY: " mh_from_env " })).toBe("mh_from_env");
    expect(resolveKeyRef(`file:${join(dir, "key")}`, {})).toBe("mh_from_file");
    expect(() => resolveKeyRef("mh_literal_key", {})).toThrow(/never on the command line/);
    expect(() => resolveKeyRef("env:MISSING", {})).toThrow(/not set/);
  });
});

describe("the edge's command line", () => {
  it("parses [host:]port listeners, IPv6 in brackets", () => {
    expect(parseListen("2525", "starttls", false)).toEqual({
      host: "0.0.0.0",
      port: 2525,
      kind: "starttls",
      legacy: false,
    });
    expect(parseListen("192.168.1.5:25", "starttls", false)).toMatchObject({ host: "192.168.1.5", port: 25 });
    expect(parseListen("[::]:465", "tls", true)).toMatchObject({
      host: "::",
      port: 465,
      kind: "tls",
      legacy: true,
    });
    expect(() => parseListen("host:99999", "starttls", false)).toThrow(/expected \[host:\]port/);
  });

  it("defaults to 0.0.0.0:2525 and the API's own default SIZE, and refuses keys in the clear", async () => {
    const settings = await edgeSettings(["--hostname", "edge.local"], {
      MAILHOOK_URL: "https://app.azurewebsites.net",
    });
    expect(settings.api).toBe("https://app.azurewebsites.net/api");
    expect(settings.listeners).toEqual([{ host: "0.0.0.0", port: 2525, kind: "starttls", legacy: false }]);
    expect(settings.maxMessageBytes).toBe(Math.ceil((35 * 1024 * 1024 * 4) / 3) + 1024 * 1024);
    expect(settings.certificate.generated).toBe(true);
    await expect(edgeSettings(["--api", "http://app.example.com"], {})).rejects.toThrow(/use https/);
    await expect(edgeSettings([], {})).rejects.toThrow(/--api or MAILHOOK_URL/);
  });
});

describe("what the edge keeps", () => {
  const identity: Identity = {
    clientId: "mfp",
    transport: "smtp",
    maxMessageBytes: 1,
    maxRecipientsPerMessage: 1,
  };

  it("keeps verdicts a minute, per key and sender, and forgets a key the API refused", () => {
    let now = 0;
    const cache = new VerdictCache(60_000, 10, () => now);
    cache.set("key-1", undefined, identity);
    cache.set("key-1", "a@contoso.com", identity);
    expect(cache.get("key-1")).toEqual(identity);
    expect(cache.get("key-1", "A@contoso.com")).toEqual(identity);
    expect(cache.get("key-2")).toBeUndefined();
    cache.forget("key-1");
    expect(cache.get("key-1", "a@contoso.com")).toBeUndefined();
    cache.set("key-3", undefined, identity);
    now = 60_001;
    expect(cache.get("key-3")).toBeUndefined();
  });

  it("counts failed AUTH per address and tells how long to wait without counting the question", () => {
    const limiter = new AuthFailureLimiter(3, 60_000);
    for (let i = 0; i < 3; i++) {
      expect(limiter.waitMs("10.0.0.5", i)).toBe(0);
      limiter.fail("10.0.0.5", i);
    }
    expect(limiter.waitMs("10.0.0.5", 10)).toBe(60_000 - 10);
    expect(limiter.waitMs("10.0.0.6", 10)).toBe(0);
    expect(limiter.waitMs("10.0.0.5", 60_000)).toBe(0);
  });
});
