import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ConfigError, loadConfig } from "../../shared/config.js";
import type { Client } from "../../shared/domain/client.js";
import type { StoredMessage } from "../../shared/domain/message.js";
import { enforcePolicy } from "../../shared/intake/policy.js";
import { buildTransports } from "../../shared/transport/registry.js";
import { SmtpTransport } from "../../shared/transport/smtp/transport.js";

const client = (transport: Client["transport"]): Client => ({
  id: "c1",
  keySha256: "0".repeat(64),
  senders: ["*@contoso.com"],
  transport,
});

const env = (transport: Client["transport"], extra: Record<string, string>) => ({
  AzureWebJobsStorage: "UseDevelopmentStorage=true",
  MAILHOOK_CLIENTS: JSON.stringify([client(transport)]),
  ...extra,
});

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailhook-startup-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("start-up refuses what cannot work", () => {
  const direct = { ACCEPTED_DOMAINS: "contoso.com" };

  it("takes MX_ENDPOINT as host or host:port, port 25 by default", () => {
    expect(
      loadConfig(env("direct", { ...direct, MX_ENDPOINT: "contoso-com.mail.protection.outlook.com" })).mx,
    ).toMatchObject({
      endpoint: "contoso-com.mail.protection.outlook.com",
      port: 25,
    });
    expect(loadConfig(env("relay", { ...direct, MX_ENDPOINT: "localhost:2525" })).mx).toMatchObject({
      endpoint: "localhost",
      port: 2525,
    });
  });

  it.each([
    ["10.0.0.7:25", /MX_ENDPOINT \[host\]: must be a DNS name/],
    ["contoso-com.mail.protection.outlook.com:465", /MX_ENDPOINT \[port\]: 465/],
    ["mx.contoso.com:twenty-five", /MX_ENDPOINT: must be host or host:port/],
  ])("refuses MX_ENDPOINT=%s", (value, message) => {
    expect(problems(() => loadConfig(env("direct", { ...direct, MX_ENDPOINT: value })))).toEqual([
      expect.stringMatching(message),
    ]);
  });

  it("refuses a relay certificate file that cannot be read", () => {
    const config = loadConfig(
      env("relay", {
        ...direct,
        MX_ENDPOINT: "mx.contoso.com",
        RELAY_CLIENT_CERTIFICATE_PATH: join(dir, "missing.pem"),
      }),
    );
    expect(problems(() => buildTransports(config))).toEqual([
      expect.stringMatching(/^RELAY_CLIENT_CERTIFICATE_PATH: cannot read .*missing\.pem \(ENOENT\)$/),
    ]);
  });

  it("refuses certificate text that is not PEM, without printing it", () => {
    const config = loadConfig(
      env("relay", {
        ...direct,
        MX_ENDPOINT: "mx.contoso.com",
        RELAY_CLIENT_CERTIFICATE: "not-a-pem-secret",
      }),
    );
    const found = problems(() => buildTransports(config));
    expect(found).toEqual(["RELAY_CLIENT_CERTIFICATE: is neither PEM text nor base64-encoded PEM"]);
    expect(found.join()).not.toContain("not-a-pem-secret");
  });

  it("refuses a certificate given both as text and as a path", () => {
    expect(
      problems(() =>
        loadConfig(
          env("graph", {
            ENTRA_TENANT_ID: "t",
            ENTRA_CLIENT_ID: "c",
            ENTRA_CLIENT_CERTIFICATE: "-----BEGIN CERTIFICATE-----",
            ENTRA_CLIENT_CERTIFICATE_PATH: join(dir, "app.pem"),
          }),
        ),
      ),
    ).toEqual(["ENTRA_CLIENT_CERTIFICATE: set it or ENTRA_CLIENT_CERTIFICATE_PATH, not both"]);
  });

  it("refuses an Entra certificate without an RSA key, before the first send", async () => {
    const path = join(dir, "ec.pem");
    await writeFile(path, `${inject("tlsCert")}\n${inject("tlsKey")}`);
    const config = loadConfig(
      env("graph", { ENTRA_TENANT_ID: "t", ENTRA_CLIENT_ID: "c", ENTRA_CLIENT_CERTIFICATE_PATH: path }),
    );
    expect(problems(() => buildTransports(config))).toEqual([
      expect.stringMatching(/need an RSA key, not ec/),
    ]);
  });

  it("refuses credentials without TLS", () => {
    expect(
      () =>
        new SmtpTransport({
          name: "smtp",
          host: "smtp.office365.com",
          port: 587,
          requireTLS: false,
          auth: { kind: "basic", password: () => "x" },
          connectionsPerMailbox: 3,
        }),
    ).toThrow(/credentials must not travel without TLS/);
  });
});

describe("intake rule for the graph transport", () => {
  const message = (headerCount: number): StoredMessage => ({
    v: 1,
    id: "m",
    clientId: "c1",
    from: { address: "scanner@contoso.com" },
    to: [{ address: "alice@contoso.com" }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject: "s",
    headers: Object.fromEntries(Array.from({ length: headerCount }, (_, i) => [`X-H${i}`, "v"])),
    attachments: [],
  });
  const config = loadConfig(
    env("graph", { ENTRA_TENANT_ID: "t", ENTRA_CLIENT_ID: "c", ENTRA_CLIENT_SECRET: "s" }),
  );

  it("accepts 5 X- headers and answers 422 for 6", () => {
    expect(() => enforcePolicy(message(5), client("graph"), config, new Date())).not.toThrow();
    expect(() => enforcePolicy(message(6), client("graph"), config, new Date())).toThrow(
      expect.objectContaining({ status: 422, message: expect.stringMatching(/at most 5/) }),
    );
    // SMTP carries any number of headers.
    expect(() => enforcePolicy(message(6), client("smtp"), config, new Date())).not.toThrow();
  });
});

describe("intake rules for the hve transport (internal recipients only, HVE's own limits)", () => {
  const config = loadConfig(
    env("hve", {
      ACCEPTED_DOMAINS: "contoso.com,fabrikam.com",
      HVE_PASSWORDS: JSON.stringify({ "*": "pw" }),
      HVE_RECIPIENTS_PER_MESSAGE: "3",
      HVE_MAX_MESSAGE_BYTES: "1000",
    }),
  );
  const message = (to: string[], overrides: Partial<StoredMessage> = {}): StoredMessage => ({
    v: 1,
    id: "m",
    clientId: "c1",
    from: { address: "alerts@contoso.com" },
    to: to.map((address) => ({ address })),
    cc: [],
    bcc: [],
    replyTo: [],
    subject: "s",
    headers: {},
    attachments: [],
    ...overrides,
  });
  const check = (m: StoredMessage) => () => enforcePolicy(m, client("hve"), config, new Date());

  it("accepts recipients in the accepted domains", () => {
    expect(check(message(["ops@contoso.com", "Desk@FABRIKAM.com"]))).not.toThrow();
  });

  it("answers 422 naming the first external recipient", () => {
    expect(check(message(["ops@contoso.com", "partner@example.net"]))).toThrow(
      expect.objectContaining({
        status: 422,
        message: expect.stringMatching(/partner@example\.net is external; High Volume Email reaches only/),
      }),
    );
    expect(check(message(["ops@contoso.com"], { bcc: [{ address: "x@example.org" }] }))).toThrow(
      expect.objectContaining({ status: 422, message: expect.stringMatching(/x@example\.org is external/) }),
    );
  });

  it("answers 422 for more recipients than HVE_RECIPIENTS_PER_MESSAGE and 413 above HVE_MAX_MESSAGE_BYTES", () => {
    expect(check(message(["a@contoso.com", "b@contoso.com", "c@contoso.com", "d@contoso.com"]))).toThrow(
      expect.objectContaining({
        status: 422,
        message: expect.stringMatching(/4 recipients .* at most 3 per message on the hve transport/),
      }),
    );
    expect(check(message(["a@contoso.com"], { text: "x".repeat(1001) }))).toThrow(
      expect.objectContaining({
        status: 413,
        message: expect.stringMatching(/limit of 1000 bytes .*the HVE_MAX_MESSAGE_BYTES setting/),
      }),
    );
  });

  it("refuses a sender outside the accepted domains", () => {
    const client2: Client = { ...client("hve"), senders: ["*@example.net"] };
    expect(() =>
      enforcePolicy(
        message(["ops@contoso.com"], { from: { address: "a@example.net" } }),
        client2,
        config,
        new Date(),
      ),
    ).toThrow(
      expect.objectContaining({ status: 422, message: expect.stringMatching(/not in an accepted domain/) }),
    );
  });
});
