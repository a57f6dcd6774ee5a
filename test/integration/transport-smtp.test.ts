import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { simpleParser } from "mailparser";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { loadConfig } from "../../shared/config.js";
import type { Client } from "../../shared/domain/client.js";
import type { ComposedMessage } from "../../shared/domain/outbound.js";
import { MemoryLoginHistoryStore } from "../../shared/storage/memory/loginHistoryStore.js";
import type { SendOutcome } from "../../shared/transport/outcome.js";
import { buildTransports } from "../../shared/transport/registry.js";
import { SmtpTransport } from "../../shared/transport/smtp/transport.js";
import type { Transport } from "../../shared/transport/transport.js";
import { writeCertificatePair } from "../support/certificates.js";
import { outlookResource, startFakeGraph } from "../support/fakeGraph.js";
import { exchangeReplies, type SmtpPeerOptions, type SmtpStage, startSmtpPeer } from "../support/smtpPeer.js";

const tls = () => ({ cert: inject("tlsCert"), key: inject("tlsKey") });
const password = randomBytes(12).toString("hex");
const mailbox = "scanner@contoso.com";

const started: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function peer(options: Partial<SmtpPeerOptions> = {}) {
  const p = await startSmtpPeer({ tls: tls(), ...options });
  started.push(p);
  return p;
}

function client(transport: Client["transport"]): Client {
  return { id: "c1", keySha256: "0".repeat(64), senders: ["*@contoso.com"], transport };
}

function transports(env: Record<string, string>, transport: Client["transport"]): Transport {
  const built = buildTransports(
    loadConfig({
      AzureWebJobsStorage: "UseDevelopmentStorage=true",
      MAILHOOK_CLIENTS: JSON.stringify([client(transport)]),
      ACCEPTED_DOMAINS: "contoso.com",
      ...env,
    }),
  );
  const t = built.get(transport)!;
  started.push({ stop: () => t.close() });
  return t;
}

function message(overrides: Partial<ComposedMessage> = {}): ComposedMessage {
  return {
    kind: "composed",
    id: "m-1",
    messageId: "<m-1@contoso.com>",
    from: { address: mailbox },
    to: [{ address: "alice@contoso.com" }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject: "Scan",
    text: "attached",
    headers: { "X-Device": "MFP-3" },
    saveToSentItems: true,
    attachments: [
      {
        name: "scan.pdf",
        contentType: "application/pdf",
        size: 5,
        open: async () => Readable.from([Buffer.from("%PDF-")]),
      },
    ],
    ...overrides,
  };
}

describe("smtp transport (SMTP AUTH client submission)", () => {
  it("marks a reply lost after the message was taken as ambiguous, and takes Exchange's duplicate refusal of the retry as sent", async () => {
    const server = await peer({
      auth: { passwords: { [mailbox]: password } },
      refuseDuplicateMessageIds: true,
    });
    const smtp = transports(
      {
        SMTP_HOST: "localhost",
        SMTP_PORT: String(server.port),
        SMTP_AUTH: "basic",
        SMTP_PASSWORDS: JSON.stringify({ "*": password }),
      },
      "smtp",
    );
    server.script({ stage: "data", acceptThenReset: true });
    expect(await smtp.send(message())).toMatchObject({ kind: "transient", ambiguous: true });
    expect(server.received).toHaveLength(1);
    // The retry carries the same Message-ID; the server already has it.
    expect(await smtp.send(message(), { mayHaveBeenSent: true, saveCheckpoint: async () => {} })).toEqual({
      kind: "sent",
      providerMessageId: "<m-1@contoso.com>",
      reconciled: true,
    });
    // Without an earlier unanswered attempt the same refusal is a failure (a reused Message-ID is not ours).
    expect(await smtp.send(message())).toMatchObject({ kind: "permanent", code: "554 5.2.0" });
    expect(server.received).toHaveLength(1);
  });

  it("submits with basic auth over STARTTLS", async () => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } } });
    const smtp = transports(
      {
        SMTP_HOST: "localhost",
        SMTP_PORT: String(server.port),
        SMTP_AUTH: "basic",
        SMTP_PASSWORDS: JSON.stringify({ "*": password }),
      },
      "smtp",
    );
    expect(await smtp.send(message())).toMatchObject({ kind: "sent" });
    const [got] = server.received;
    expect(got).toMatchObject({ user: mailbox, secure: true, from: mailbox, to: ["alice@contoso.com"] });
    const mail = await simpleParser(got!.raw);
    expect(mail.messageId).toBe("<m-1@contoso.com>");
    expect(mail.headers.get("x-device")).toBe("MFP-3");
    expect(mail.attachments[0]?.content.toString()).toBe("%PDF-");
  });

  it("passes a MIME message through byte for byte, with its envelope (Bcc only there)", async () => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } } });
    const smtp = transports(
      {
        SMTP_HOST: "localhost",
        SMTP_PORT: String(server.port),
        SMTP_AUTH: "basic",
        SMTP_PASSWORDS: JSON.stringify({ "*": password }),
      },
      "smtp",
    );
    const mime = Buffer.from(
      [
        `From: Scanner <${mailbox}>`,
        "To: alice@contoso.com",
        "Subject: Scan",
        "Message-ID: <scan-7@contoso.com>",
        "X-Device: MFP-3",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Scanned page attached elsewhere.",
        "",
      ].join("\r\n"),
    );
    const outcome = await smtp.send({
      kind: "mime",
      id: "m-7",
      messageId: "<scan-7@contoso.com>",
      from: { address: mailbox },
      recipients: [{ address: "alice@contoso.com" }, { address: "audit@contoso.com" }],
      bcc: [{ address: "audit@contoso.com" }],
      headersWithinEnvelope: true,
      size: mime.length,
      saveToSentItems: true,
      open: async () => Readable.from([mime]),
    });
    expect(outcome).toMatchObject({ kind: "sent" });
    const [got] = server.received;
    expect(got).toMatchObject({ from: mailbox, to: ["alice@contoso.com", "audit@contoso.com"] });
    // smtp-server hands over the DATA as sent (dot-unstuffed); the headers are the device's own.
    expect(got!.raw.toString()).toBe(mime.toString());
  });

  it("submits with XOAUTH2 and an app-only token for outlook.office365.com from msal-node", async () => {
    const graph = await startFakeGraph({
      tls: tls(),
      tenantId: "t1",
      clientId: "app-1",
      clientSecret: "s3cret",
    });
    started.push(graph);
    const server = await peer({
      auth: { tokenValid: (user, token) => user === mailbox && graph.tokenValid(token, outlookResource) },
    });
    const smtp = transports(
      {
        SMTP_HOST: "localhost",
        SMTP_PORT: String(server.port),
        SMTP_AUTH: "oauth2",
        ENTRA_TENANT_ID: "t1",
        ENTRA_CLIENT_ID: "app-1",
        ENTRA_CLIENT_SECRET: "s3cret",
        ENTRA_AUTHORITY_HOST: graph.url,
      },
      "smtp",
    );
    expect(await smtp.send(message())).toMatchObject({ kind: "sent" });
    expect(await smtp.send(message({ subject: "again" }))).toMatchObject({ kind: "sent" });
    expect(server.received.map((r) => [r.user, r.authMethod, r.secure])).toEqual([
      [mailbox, "XOAUTH2", true],
      [mailbox, "XOAUTH2", true],
    ]);
    expect(graph.tokenRequests).toEqual([{ resource: outlookResource, credential: "secret" }]);
  });

  it("logs in with a new token after 535, so SMTP.SendAsApp granted since works on the next try", async () => {
    const graph = await startFakeGraph({
      tls: tls(),
      tenantId: "t1",
      clientId: "app-1",
      clientSecret: "s3cret",
      roles: [],
    });
    started.push(graph);
    // Exchange checks the token's roles: without SMTP.SendAsApp the login is refused with 535 5.7.3.
    const server = await peer({
      auth: { tokenValid: (_user, token) => graph.tokenValid(token, outlookResource, "SMTP.SendAsApp") },
    });
    const smtp = transports(
      {
        SMTP_HOST: "localhost",
        SMTP_PORT: String(server.port),
        SMTP_AUTH: "oauth2",
        ENTRA_TENANT_ID: "t1",
        ENTRA_CLIENT_ID: "app-1",
        ENTRA_CLIENT_SECRET: "s3cret",
        ENTRA_AUTHORITY_HOST: graph.url,
      },
      "smtp",
    );
    expect(await smtp.send(message())).toMatchObject({ kind: "permanent", code: "535 5.7.3" });
    graph.grant(["SMTP.SendAsApp"]);
    expect(await smtp.send(message({ subject: "after the grant" }))).toMatchObject({ kind: "sent" });
    expect(server.received.map((r) => r.raw.toString("utf8").match(/^Subject: (.*)$/m)?.[1])).toEqual([
      "after the grant",
    ]);
    expect(graph.tokenRequests).toHaveLength(2);
  });

  it("keeps at most 3 connections per mailbox, so Exchange never answers 432 4.3.2", async () => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } }, connectionsPerUser: 3 });
    const smtp = transports(
      {
        SMTP_HOST: "localhost",
        SMTP_PORT: String(server.port),
        SMTP_AUTH: "basic",
        SMTP_PASSWORDS: JSON.stringify({ "*": password }),
      },
      "smtp",
    );
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => smtp.send(message({ subject: `s${i}` }))),
    );
    expect(outcomes.map((o) => o.kind)).toEqual(Array(12).fill("sent"));
    expect(server.maxConcurrentPerUser()).toBeLessThanOrEqual(3);
    expect(server.maxConcurrentPerUser()).toBeGreaterThan(1);
  });
});

describe("hve transport (High Volume Email)", () => {
  const account = "alerts@contoso.com";

  it("submits with XOAUTH2 and the app's Exchange Online token, which must carry Mail.Send", async () => {
    const graph = await startFakeGraph({
      tls: tls(),
      tenantId: "t1",
      clientId: "app-1",
      clientSecret: "s3cret",
    });
    started.push(graph);
    // HVE accepts the app when the token carries Office 365 Exchange Online Mail.Send and the account lists the
    // app (Add-HVEAppAccess): https://learn.microsoft.com/exchange/mail-flow-best-practices/oauth-high-volume-mails-m365
    const server = await peer({
      auth: {
        tokenValid: (user, token) =>
          user === account &&
          graph.tokenValid(token, outlookResource) &&
          (graph.tokenRoles(token) ?? []).includes("Mail.Send"),
      },
    });
    const hve = transports(
      {
        HVE_HOST: "localhost",
        HVE_PORT: String(server.port),
        ENTRA_TENANT_ID: "t1",
        ENTRA_CLIENT_ID: "app-1",
        ENTRA_CLIENT_SECRET: "s3cret",
        ENTRA_AUTHORITY_HOST: graph.url,
      },
      "hve",
    );
    expect(await hve.send(message({ from: { address: account } }))).toMatchObject({ kind: "sent" });
    expect(server.received.map((r) => [r.user, r.authMethod, r.secure])).toEqual([
      [account, "XOAUTH2", true],
    ]);
    expect(graph.tokenRequests).toEqual([{ resource: outlookResource, credential: "secret" }]);
  });

  it("signs in with the account's password from HVE_PASSWORDS, others with OAuth", async () => {
    const graph = await startFakeGraph({
      tls: tls(),
      tenantId: "t1",
      clientId: "app-1",
      clientSecret: "s3cret",
    });
    started.push(graph);
    const server = await peer({
      auth: {
        passwords: { [account]: password },
        tokenValid: (user, token) => user === "ops@contoso.com" && graph.tokenValid(token, outlookResource),
      },
    });
    const hve = transports(
      {
        HVE_HOST: "localhost",
        HVE_PORT: String(server.port),
        HVE_PASSWORDS: JSON.stringify({ [account]: password }),
        ENTRA_TENANT_ID: "t1",
        ENTRA_CLIENT_ID: "app-1",
        ENTRA_CLIENT_SECRET: "s3cret",
        ENTRA_AUTHORITY_HOST: graph.url,
      },
      "hve",
    );
    expect(await hve.send(message({ from: { address: account } }))).toMatchObject({ kind: "sent" });
    expect(await hve.send(message({ from: { address: "ops@contoso.com" } }))).toMatchObject({ kind: "sent" });
    expect(server.received.map((r) => [r.user, r.authMethod, r.secure])).toEqual([
      [account, "PLAIN", true],
      ["ops@contoso.com", "XOAUTH2", true],
    ]);
  });

  it("never sends a password or token without STARTTLS", async () => {
    const server = await peer({ startTls: false, auth: { passwords: { [account]: password } } });
    const hve = transports(
      {
        HVE_HOST: "localhost",
        HVE_PORT: String(server.port),
        HVE_PASSWORDS: JSON.stringify({ "*": password }),
      },
      "hve",
    );
    expect(await hve.send(message({ from: { address: account } }))).toMatchObject({ kind: "permanent" });
    expect(server.received).toEqual([]);
  });
});

describe("direct transport (Direct Send)", () => {
  it("sends to MX_ENDPOINT host:port without auth, with STARTTLS when offered", async () => {
    const server = await peer();
    const direct = transports({ MX_ENDPOINT: `localhost:${server.port}` }, "direct");
    expect(await direct.send(message())).toMatchObject({ kind: "sent" });
    expect(server.received[0]).toMatchObject({ user: undefined, secure: true });
  });

  it("still sends when the endpoint offers no STARTTLS", async () => {
    const server = await peer({ startTls: false });
    const direct = transports({ MX_ENDPOINT: `localhost:${server.port}` }, "direct");
    expect(await direct.send(message())).toMatchObject({ kind: "sent" });
    expect(server.received[0]?.secure).toBe(false);
  });
});

describe("relay transport (connector)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mailhook-relay-"));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("presents the client certificate the connector trusts", async () => {
    const cert = await writeCertificatePair(dir, "relay.contoso.com");
    const server = await peer({ relayCertificateFingerprint256: cert.fingerprint256 });
    const relay = transports(
      { MX_ENDPOINT: `localhost:${server.port}`, RELAY_CLIENT_CERTIFICATE_PATH: cert.path },
      "relay",
    );
    expect(await relay.send(message({ to: [{ address: "partner@fabrikam.com" }] }))).toMatchObject({
      kind: "sent",
    });
    expect(server.received[0]).toMatchObject({
      secure: true,
      clientCertificateFingerprint256: cert.fingerprint256,
    });
  });

  it("presents the certificate given as RELAY_CLIENT_CERTIFICATE text (a Key Vault reference in Azure)", async () => {
    const cert = await writeCertificatePair(dir, "relay-setting.contoso.com");
    const server = await peer({ relayCertificateFingerprint256: cert.fingerprint256 });
    const relay = transports(
      { MX_ENDPOINT: `localhost:${server.port}`, RELAY_CLIENT_CERTIFICATE: `${cert.key}\n${cert.cert}` },
      "relay",
    );
    expect(await relay.send(message())).toMatchObject({ kind: "sent" });
    expect(server.received[0]?.clientCertificateFingerprint256).toBe(cert.fingerprint256);
  });

  it("is refused by a certificate connector without the certificate, keeping Exchange's code", async () => {
    const cert = await writeCertificatePair(dir, "relay2.contoso.com");
    const server = await peer({ relayCertificateFingerprint256: cert.fingerprint256 });
    const relay = transports({ MX_ENDPOINT: `localhost:${server.port}` }, "relay");
    expect(await relay.send(message())).toEqual({
      kind: "permanent",
      code: "550 5.7.64",
      text: "550 5.7.64 TenantAttribution; Relay Access Denied",
    });
  });

  it("never sends in cleartext when the endpoint offers no STARTTLS", async () => {
    const server = await peer({ startTls: false });
    const relay = transports({ MX_ENDPOINT: `localhost:${server.port}` }, "relay");
    const outcome = await relay.send(message());
    // nodemailer insists on STARTTLS (requireTLS) and the server refuses it: a final answer, not a retry.
    expect(outcome).toMatchObject({ kind: "permanent", code: "500" });
    expect(server.received).toEqual([]);
  });
});

describe("Exchange's replies, scripted", () => {
  const cases: [SmtpStage, string, Partial<SendOutcome> & { kind: SendOutcome["kind"] }][] = [
    ["auth", "535 5.7.3 Authentication unsuccessful", { kind: "permanent", code: "535 5.7.3" }],
    [
      "auth",
      "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant",
      { kind: "permanent", code: "535 5.7.139" },
    ],
    ["auth", "454 4.7.0 Temporary authentication failure", { kind: "transient", code: "454 4.7.0" }],
    ["auth", "432 4.3.2 Concurrent connections limit exceeded", { kind: "throttled", code: "432 4.3.2" }],
    ["mail", "530 5.7.57 Client not authenticated to send mail", { kind: "permanent", code: "530 5.7.57" }],
    [
      "mail",
      "550 5.7.30 Basic authentication is not supported for Client Submission",
      { kind: "permanent", code: "550 5.7.30" },
    ],
    [
      "mail",
      "550 5.7.60 SMTP; Client does not have permissions to send as this sender",
      { kind: "permanent", code: "550 5.7.60" },
    ],
    ["mail", "451 4.7.500 Server busy. Please try again later", { kind: "transient", code: "451 4.7.500" }],
    [
      "mail",
      "421 4.7.66 Service not available, closing transmission channel",
      { kind: "transient", code: "421 4.7.66" },
    ],
    [
      "rcpt",
      "550 5.7.68 TenantInboundAttribution; Direct Send not allowed",
      { kind: "permanent", code: "550 5.7.68" },
    ],
    [
      "data",
      "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException",
      { kind: "throttled", retryAfterMs: 3_600_000, code: "554 5.2.0" },
    ],
    ...[251, 252, 253, 254, 255].map(
      (n): [SmtpStage, string, { kind: "throttled"; code: string; retryAfterMs: number }] => [
        "mail",
        `550 5.2.${n} Sending mail has been temporarily suspended due to errors`,
        { kind: "throttled", code: `550 5.2.${n}`, retryAfterMs: 900_000 },
      ],
    ),
  ];

  function basicTransport(port: number, timeoutsMs?: { connection: number; socket: number }) {
    const t = new SmtpTransport({
      name: "smtp",
      host: "localhost",
      port,
      requireTLS: true,
      auth: { kind: "basic", password: () => password },
      connectionsPerMailbox: 3,
      ...(timeoutsMs ? { timeoutsMs } : {}),
    });
    started.push({ stop: () => t.close() });
    return t;
  }

  it.each(cases)("%s: %s", async (stage, reply, expected) => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } } });
    server.script({ stage, reply });
    const outcome = await basicTransport(server.port).send(message());
    expect(outcome).toMatchObject(expected);
    if (outcome.kind === "permanent") expect(outcome.text).toBe(reply);
    expect(server.received).toEqual([]);
  });

  it("classifies a connection reset during DATA as transient", async () => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } } });
    server.script({ stage: "data", reset: true });
    const outcome = await basicTransport(server.port).send(message());
    expect(outcome.kind).toBe("transient");
    expect(outcome.kind === "transient" && outcome.code).toMatch(/^E[A-Z]+$/);
  });

  it("classifies a server that stops answering as transient (socket timeout)", async () => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } } });
    server.script({ stage: "mail", hang: true });
    const outcome = await basicTransport(server.port, { connection: 2000, socket: 300 }).send(message());
    expect(outcome).toMatchObject({ kind: "transient", code: "ETIMEDOUT" });
  });
});

describe("Exchange Online after basic authentication goes (end of December 2026)", () => {
  const basicEnv = (port: number) => ({
    SMTP_HOST: "localhost",
    SMTP_PORT: String(port),
    SMTP_AUTH: "basic",
    SMTP_PASSWORDS: JSON.stringify({ "*": password }),
  });
  const smtpWith = (port: number, logins?: MemoryLoginHistoryStore) => {
    const built = buildTransports(
      loadConfig({
        AzureWebJobsStorage: "UseDevelopmentStorage=true",
        MAILHOOK_CLIENTS: JSON.stringify([client("smtp")]),
        ...basicEnv(port),
      }),
      logins ? { logins } : {},
    );
    const t = built.get("smtp")!;
    started.push({ stop: () => t.close() });
    return t;
  };

  it("is final on the first attempt when basic authentication is disabled (535 5.7.139), saying how to move", async () => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } }, basicAuth: "disabled" });
    const outcome = await smtpWith(server.port).send(message());
    expect(outcome).toMatchObject({
      kind: "permanent",
      code: "535 5.7.139",
      text: exchangeReplies.basicAuthDisabled,
    });
    expect(outcome.kind === "permanent" && outcome.reason).toMatch(/SMTP_AUTH=oauth2/);
    expect(server.received).toEqual([]);
  });

  it("is final when basic authentication is gone (550 5.7.30 after AUTH)", async () => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } }, basicAuth: "retired" });
    const outcome = await smtpWith(server.port).send(message());
    expect(outcome).toMatchObject({ kind: "permanent", code: "550 5.7.30" });
    expect(outcome.kind === "permanent" && outcome.reason).toMatch(/no longer accepts basic authentication/);
  });

  it("reads 535 5.7.3 for a password that worked before as basic authentication turned off", async () => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } } });
    const logins = new MemoryLoginHistoryStore();
    const first = smtpWith(server.port, logins);
    expect(await first.send(message())).toMatchObject({ kind: "sent" });
    expect(await logins.lastSuccessAt("smtp", mailbox)).toBeGreaterThan(0);
    server.setBasicAuth("refused");
    // Another instance (a new transport, no memory of its own) reads the shared memory.
    const outcome = await smtpWith(server.port, logins).send(message({ subject: "again" }));
    expect(outcome).toMatchObject({ kind: "permanent", code: "535 5.7.3" });
    expect(outcome.kind === "permanent" && outcome.reason).toMatch(
      /worked until \S+ and is refused now .*basic authentication has been turned off/,
    );
    // Without that memory the same answer reads as a wrong password.
    const fresh = await smtpWith(server.port, new MemoryLoginHistoryStore()).send(message());
    expect(fresh.kind === "permanent" && fresh.reason).toMatch(/refused the user name or password/);
  });

  it("sends to the internal recipients and names the external ones the tenant limit refused (550 5.7.233)", async () => {
    const server = await peer({
      auth: { passwords: { [mailbox]: password } },
      tenant: { acceptedDomains: ["contoso.com"], externalRecipientsPerDay: 0 },
    });
    const smtp = smtpWith(server.port);
    const mixed = await smtp.send(
      message({ to: [{ address: "alice@contoso.com" }, { address: "partner@fabrikam.com" }] }),
    );
    expect(mixed).toMatchObject({
      kind: "partial",
      refused: [
        {
          address: "partner@fabrikam.com",
          outcome: { kind: "throttled", cause: "tenantExternal", code: "550 5.7.233" },
        },
      ],
    });
    expect(server.received.map((r) => r.to)).toEqual([["alice@contoso.com"]]);
    // All external: the whole message is throttled, nothing delivered.
    const external = await smtp.send(message({ to: [{ address: "partner@fabrikam.com" }] }));
    expect(external).toMatchObject({ kind: "throttled", cause: "tenantExternal", code: "550 5.7.233" });
    expect(server.received).toHaveLength(1);
  });

  it("narrows RCPT TO to the recipients still to send to, keeping the headers and Message-ID", async () => {
    const server = await peer({ auth: { passwords: { [mailbox]: password } } });
    const outcome = await smtpWith(server.port).send(
      message({
        to: [{ address: "alice@contoso.com" }, { address: "partner@fabrikam.com" }],
        envelopeRecipients: [{ address: "partner@fabrikam.com" }],
      }),
    );
    expect(outcome).toMatchObject({ kind: "sent" });
    const [got] = server.received;
    expect(got?.to).toEqual(["partner@fabrikam.com"]);
    const mail = await simpleParser(got!.raw);
    expect(mail.messageId).toBe("<m-1@contoso.com>");
    expect(mail.headers.get("to")).toMatchObject({ text: "alice@contoso.com, partner@fabrikam.com" });
  });

  it("is final when the tenant rejects Direct Send (550 5.7.68), naming the connector and relay", async () => {
    const server = await peer({ tenant: { acceptedDomains: ["contoso.com"] }, rejectDirectSend: true });
    const direct = transports({ MX_ENDPOINT: `localhost:${server.port}` }, "direct");
    const outcome = await direct.send(message());
    expect(outcome).toMatchObject({
      kind: "permanent",
      code: "550 5.7.68",
      text: exchangeReplies.rejectDirectSend,
    });
    expect(outcome.kind === "permanent" && outcome.reason).toMatch(/inbound connector .* relay transport/);
    expect(server.received).toEqual([]);
  });
});
