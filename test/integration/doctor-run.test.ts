import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "../../cli/run.js";
import { startDroppingPort } from "../support/droppingPort.js";
import { testClient } from "../support/env.js";
import { type FakeGraph, outlookResource, startFakeGraph } from "../support/fakeGraph.js";
import { type SmtpPeer, type SmtpPeerOptions, startSmtpPeer } from "../support/smtpPeer.js";
import { startDnsServer } from "./doctor-dnsServer.js";

type Dns = Awaited<ReturnType<typeof startDnsServer>>;
let dns: Dns;
const servers: SMTPServer[] = [];
const fakes: FakeGraph[] = [];
const stops: (() => Promise<void>)[] = [];

/** A loopback SMTP endpoint like Exchange Online's: STARTTLS with the trusted test certificate, AUTH after TLS. */
async function startSmtp(options: {
  startTls: boolean;
  authMethods: string[];
  refuse?: string;
}): Promise<number> {
  const server = new SMTPServer({
    key: inject("tlsKey"),
    cert: inject("tlsCert"),
    hideSTARTTLS: !options.startTls,
    authMethods: options.authMethods,
    minVersion: "TLSv1.2",
    onAuth: (_auth, _session, done) => done(new Error("not in this test")),
    ...(options.refuse
      ? {
          onConnect: (_session: unknown, done: (error?: Error) => void) =>
            done(Object.assign(new Error(options.refuse), { responseCode: 554 })),
        }
      : {}),
  });
  server.on("error", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return (server.server.address() as AddressInfo).port;
}

/** The project's Exchange-like SMTP peer (STARTTLS, AUTH after TLS, basic auth's 2026 answers). */
async function startPeer(options: Partial<SmtpPeerOptions>): Promise<SmtpPeer> {
  const peer = await startSmtpPeer({ tls: { cert: inject("tlsCert"), key: inject("tlsKey") }, ...options });
  stops.push(() => peer.stop());
  return peer;
}

beforeAll(async () => {
  dns = await startDnsServer({
    // The loopback peers' name: the doctor resolves MX_ENDPOINT through --dns-server.
    localhost: { a: ["127.0.0.1"] },
    "contoso.com": {
      mx: [[0, "contoso-com.mail.protection.outlook.com"]],
      txt: [
        ["v=spf1 ip4:203.0.113.7 include:spf.protection.outlook.com -all"],
        ["google-site-verification=x"],
      ],
    },
    "fabrikam.com": { mx: [[10, "mx.fabrikam-mail.net"]], txt: [["v=spf1 include:_spf.example.net ~all"]] },
    // A resolver that sees public DNS finds Microsoft's own MX (the doctor asks when a domain is not found).
    "outlook.com": { mx: [[5, "outlook-com.olc.protection.outlook.com"]] },
  });
});
afterAll(async () => {
  await Promise.all(stops.map((stop) => stop()));
  await dns?.stop();
  await Promise.all(fakes.map((f) => f.stop()));
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A loopback Entra token endpoint (and Graph) granting `roles`; its settings for the doctor. */
async function entra(
  roles: string[],
): Promise<{ url: string; fake: FakeGraph; env: Record<string, string> }> {
  const secret = "s3cret-not-printed";
  const fake = await startFakeGraph({
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    tenantId: "contoso.onmicrosoft.com",
    clientId: "00000000-0000-0000-0000-000000000001",
    clientSecret: secret,
    roles,
  });
  fakes.push(fake);
  return {
    url: fake.url,
    fake,
    env: {
      ENTRA_TENANT_ID: "contoso.onmicrosoft.com",
      ENTRA_CLIENT_ID: "00000000-0000-0000-0000-000000000001",
      ENTRA_CLIENT_SECRET: secret,
      ENTRA_AUTHORITY_HOST: fake.url,
      GRAPH_ENDPOINT: fake.url,
    },
  };
}

async function doctor(env: Record<string, string>, args: string[] = []) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(["doctor", "--dns-server", dns.server, ...args], {
    env,
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  return { code, stdout, stderr };
}

const lines = (out: string, status: string) => out.split("\n").filter((l) => l.startsWith(status));

describe("mailhook doctor", () => {
  it("passes a tenant set up as Microsoft's guide says (MX, SPF, SMTP AUTH with STARTTLS)", async () => {
    const { port } = await startPeer({ auth: { passwords: { "scanner@contoso.com": "secret" } } });
    const { client } = testClient({ senders: ["scanner@contoso.com"], transport: "smtp" });
    const { code, stdout } = await doctor({
      MAILHOOK_CLIENTS: JSON.stringify([client]),
      SMTP_HOST: "localhost",
      SMTP_PORT: String(port),
      SMTP_AUTH: "basic",
      SMTP_PASSWORDS: JSON.stringify({ "scanner@contoso.com": "secret" }),
    });
    expect(lines(stdout, "FAIL")).toEqual([]);
    expect(stdout).toContain("PASS  mx contoso.com: MX contoso-com.mail.protection.outlook.com");
    expect(stdout).toMatch(/PASS {2}spf contoso\.com: v=spf1 ip4:203\.0\.113\.7/);
    expect(stdout).toMatch(new RegExp(`PASS  smtp localhost:${port} tls: STARTTLS negotiated TLSv1\\.[23]`));
    expect(stdout).toMatch(new RegExp(`PASS  smtp localhost:${port} auth: AUTH .*LOGIN`));
    expect(stdout).toContain(`PASS  client ${client.id}`);
    expect(stdout).toContain(
      `PASS  smtp localhost:${port} login scanner@contoso.com: AUTH PLAIN and MAIL FROM accepted`,
    );
    // Basic authentication still works here, but not for long: the doctor says so, and what to do.
    expect(stdout).toMatch(/WARN {2}smtp basic authentication: scanner@contoso\.com sign in with a password/);
    expect(stdout).toMatch(/fix: Switch this client to OAuth: set SMTP_AUTH=oauth2/);
    expect(code).toBe(0);
    expect(stdout).not.toContain("secret");
  });

  it("reports basic authentication disabled, retired or refused before the first send, as a status would", async () => {
    const { client } = testClient({ senders: ["scanner@contoso.com"], transport: "smtp" });
    for (const [mode, code] of [
      ["disabled", "535 5.7.139"],
      ["retired", "550 5.7.30"],
      ["refused", "535 5.7.3"],
    ] as const) {
      const { port } = await startPeer({
        auth: { passwords: { "scanner@contoso.com": "pw-not-printed" } },
        basicAuth: mode,
      });
      const run = await doctor({
        MAILHOOK_CLIENTS: JSON.stringify([client]),
        SMTP_HOST: "localhost",
        SMTP_PORT: String(port),
        SMTP_AUTH: "basic",
        SMTP_PASSWORDS: JSON.stringify({ "*": "pw-not-printed" }),
      });
      expect(run.code, mode).toBe(1);
      const out = run.stdout.split("\n");
      const at = out.findIndex((l) =>
        l.startsWith(`FAIL  smtp localhost:${port} login scanner@contoso.com: ${code}`),
      );
      expect(at, `${mode}\n${run.stdout}`).toBeGreaterThanOrEqual(0);
      expect(out[at + 1]).toMatch(/fix: .*SMTP_AUTH=oauth2/);
      expect(run.stdout).not.toContain("pw-not-printed");
    }
  });

  it("checks an HVE account: its token's roles against Mail.Send, then AUTH XOAUTH2 over TLS to the HVE host", async () => {
    const { client } = testClient({
      senders: ["alerts@contoso.com"],
      defaultSender: undefined,
      transport: "hve",
    });
    const run = async (roles: string[]) => {
      const graph = await entra(roles);
      const peer = await startPeer({
        auth: {
          tokenValid: (user, token) =>
            user === "alerts@contoso.com" &&
            graph.fake.tokenValid(token, outlookResource) &&
            (graph.fake.tokenRoles(token) ?? []).includes("Mail.Send"),
        },
      });
      const result = await doctor({
        MAILHOOK_CLIENTS: JSON.stringify([client]),
        ACCEPTED_DOMAINS: "contoso.com",
        HVE_HOST: "localhost",
        HVE_PORT: String(peer.port),
        ...graph.env,
      });
      return { ...result, port: peer.port, secret: graph.env.ENTRA_CLIENT_SECRET ?? "" };
    };

    const missing = await run(["SMTP.SendAsApp"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(
      "FAIL  entra token https://outlook.office365.com/.default (hve): obtained, but without Mail.Send (roles: SMTP.SendAsApp)",
    );
    expect(missing.stdout).toMatch(
      /fix: Add the application permission Office 365 Exchange Online → Mail\.Send .*Add-HVEAppAccess/,
    );
    expect(missing.stdout).toMatch(
      new RegExp(`FAIL  hve localhost:${missing.port} login alerts@contoso\\.com: 535`),
    );
    expect(missing.stdout).toMatch(
      /fix: Exchange Online refused the app's token for the HVE account .*Add-HVEAppAccess/,
    );

    const granted = await run(["Mail.Send"]);
    expect(lines(granted.stdout, "FAIL")).toEqual([]);
    expect(granted.stdout).toContain(
      "PASS  entra token https://outlook.office365.com/.default (hve): obtained; carries Mail.Send",
    );
    expect(granted.stdout).toMatch(
      new RegExp(`PASS  hve localhost:${granted.port} tls: STARTTLS negotiated TLSv1\\.[23]`),
    );
    expect(granted.stdout).toMatch(new RegExp(`PASS  hve localhost:${granted.port} auth: AUTH .*XOAUTH2`));
    expect(granted.stdout).toContain(
      `PASS  hve localhost:${granted.port} login alerts@contoso.com: AUTH XOAUTH2 and MAIL FROM accepted`,
    );
    expect(granted.code).toBe(0);
    expect(granted.stdout).not.toContain(granted.secret);
  });

  it("fails a domain whose MX and SPF bypass Microsoft 365, and an endpoint without STARTTLS, with fixes", async () => {
    const port = await startSmtp({ startTls: false, authMethods: ["LOGIN"] });
    const { client } = testClient({
      senders: ["*@fabrikam.com"],
      defaultSender: "scan@fabrikam.com",
      transport: "smtp",
    });
    const { code, stdout } = await doctor({
      MAILHOOK_CLIENTS: JSON.stringify([client]),
      SMTP_HOST: "localhost",
      SMTP_PORT: String(port),
      SMTP_AUTH: "basic",
      SMTP_PASSWORDS: JSON.stringify({ "someone@fabrikam.com": "secret" }),
    });
    expect(code).toBe(1);
    expect(stdout).toContain(
      "WARN  mx fabrikam.com: MX mx.fabrikam-mail.net is not *.mail.protection.outlook.com",
    );
    expect(stdout).toContain(
      'FAIL  spf fabrikam.com: "v=spf1 include:_spf.example.net ~all" lacks include:spf.protection.outlook.com',
    );
    expect(stdout).toContain(`FAIL  smtp localhost:${port} starttls: STARTTLS is not offered`);
    expect(stdout).toContain(`FAIL  client ${client.id}: no SMTP_PASSWORDS entry for *@fabrikam.com`);
    // Every warning and failure says what to do.
    const out = stdout.split("\n");
    out.forEach((line, i) => {
      if (/^(WARN|FAIL)/.test(line)) expect(out[i + 1], line).toMatch(/^ {6}fix: \S/);
    });
  });

  it("asks for XOAUTH2 when SMTP_AUTH is oauth2 and checks the token carries SMTP.SendAsApp", async () => {
    const port = await startSmtp({ startTls: true, authMethods: ["LOGIN", "PLAIN"] });
    const graph = await entra(["Mail.Send"]);
    const { client } = testClient({ senders: ["scanner@contoso.com"], transport: "smtp" });
    const { code, stdout } = await doctor({
      MAILHOOK_CLIENTS: JSON.stringify([client]),
      SMTP_HOST: "localhost",
      SMTP_PORT: String(port),
      ...graph.env,
    });
    expect(code).toBe(1);
    expect(stdout).toContain(
      `FAIL  smtp localhost:${port} auth: AUTH LOGIN PLAIN lacks XOAUTH2 for SMTP_AUTH=oauth2`,
    );
    expect(stdout).toContain(
      "FAIL  entra token https://outlook.office365.com/.default: obtained, but without SMTP.SendAsApp (roles: Mail.Send)",
    );
    expect(stdout).not.toContain(graph.env.ENTRA_CLIENT_SECRET);
  });

  it("passes the Graph token check when the app holds Mail.Send, and fails on a wrong secret", async () => {
    const graph = await entra(["Mail.Send"]);
    const { client } = testClient({ senders: ["scanner@contoso.com"], transport: "graph" });
    const good = await doctor({ MAILHOOK_CLIENTS: JSON.stringify([client]), ...graph.env });
    expect(good.stdout).toContain(`PASS  entra token ${graph.url}/.default: obtained; carries Mail.Send`);
    const bad = await doctor({
      MAILHOOK_CLIENTS: JSON.stringify([client]),
      ...graph.env,
      ENTRA_CLIENT_SECRET: "wrong-secret",
    });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL {2}entra token \S+: no token: /);
    expect(bad.stdout).not.toContain("wrong-secret");
  });

  it("checks Direct Send: accepted domains, the static IP in SPF, the MX endpoint's STARTTLS", async () => {
    const port = await startSmtp({ startTls: true, authMethods: [] });
    const direct = testClient({
      senders: ["*@contoso.com", "alerts@fabrikam.com"],
      transport: "direct",
    }).client;
    const { code, stdout } = await doctor(
      {
        MAILHOOK_CLIENTS: JSON.stringify([direct]),
        MX_ENDPOINT: `localhost:${port}`,
        ACCEPTED_DOMAINS: "contoso.com",
      },
      ["--static-ip", "198.51.100.9"],
    );
    expect(code).toBe(1);
    expect(stdout).toContain(
      `FAIL  client ${direct.id}: direct sends as fabrikam.com, not in ACCEPTED_DOMAINS`,
    );
    expect(stdout).toContain("FAIL  spf ip contoso.com: ip4:198.51.100.9 is missing");
    expect(stdout).toContain(
      "FAIL  mx fabrikam.com: MX mx.fabrikam-mail.net is not *.mail.protection.outlook.com",
    );
    expect(stdout).toContain(
      "WARN  mx endpoint contoso.com: MX_ENDPOINT is localhost but the domain's MX is",
    );
    expect(stdout).toMatch(new RegExp(`PASS  mx endpoint localhost:${port}: 220 .*STARTTLS TLSv1\\.[23]`));
  });

  it("flags port 465 and IP literals, and reports unknown domains", async () => {
    const { client } = testClient({
      senders: ["scanner@nowhere.example"],
      defaultSender: undefined,
      transport: "smtp",
    });
    const { code, stdout } = await doctor(
      {
        MAILHOOK_CLIENTS: JSON.stringify([client]),
        SMTP_HOST: "40.99.1.2",
        SMTP_PORT: "465",
        SMTP_AUTH: "basic",
        SMTP_PASSWORDS: JSON.stringify({ "*": "x" }),
      },
      ["--domain", "nowhere.example"],
    );
    expect(code).toBe(1);
    expect(stdout).toContain("FAIL  smtp port: SMTP_PORT is 465");
    expect(stdout).toContain("FAIL  smtp host: SMTP_HOST is the IP address 40.99.1.2");
    expect(stdout).toMatch(/FAIL {2}settings: SMTP_PORT: 465 \(implicit TLS\) is not supported/);
    expect(stdout).toContain("FAIL  mx nowhere.example: nowhere.example does not exist in DNS (ENOTFOUND)");
  });

  it("says DNS unreachable, not 'no MX record', when the resolver refuses or sees no public names", async () => {
    // A UDP port nobody listens on: the resolver's queries are refused.
    const closed = createSocket("udp4");
    await new Promise<void>((resolve) => closed.bind(0, "127.0.0.1", resolve));
    const refusedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    // A resolver that answers NXDOMAIN for every name, as a sandbox's or a captive network's does.
    const blind = await startDnsServer({});
    try {
      for (const [server, code] of [
        [`127.0.0.1:${refusedPort}`, "ECONNREFUSED"],
        [blind.server, "ENOTFOUND"],
      ] as const) {
        // The later --dns-server wins over the suite's own.
        const { stdout } = await doctor({}, ["--domain", "contoso.com", "--dns-server", server]);
        expect(stdout).toContain(
          `WARN  mx contoso.com: DNS unreachable: looking up the MX of contoso.com failed (${code}), so it was not checked`,
        );
        expect(stdout).toContain(
          `WARN  spf contoso.com: DNS unreachable: looking up the TXT records of contoso.com failed (${code})`,
        );
        expect(stdout).toContain(
          "fix: Run mailhook doctor where DNS resolves public names, or pass --dns-server",
        );
        expect(stdout).not.toContain("no MX record");
        expect(stdout).not.toMatch(/FAIL {2}(mx|spf) /);
      }
    } finally {
      await blind.stop();
    }
  });

  it("still says 'no MX record' when the domain exists without one", async () => {
    const zone = await startDnsServer({
      "contoso.com": { txt: [["v=spf1 include:spf.protection.outlook.com -all"]] },
      "outlook.com": { mx: [[5, "outlook-com.olc.protection.outlook.com"]] },
    });
    try {
      const { stdout } = await doctor({}, ["--domain", "contoso.com", "--dns-server", zone.server]);
      expect(stdout).toContain("FAIL  mx contoso.com: no MX record (ENODATA)");
    } finally {
      await zone.stop();
    }
  });

  it("with MAILHOOK_CLIENTS set, never asks for it", async () => {
    // A graph client without the Entra settings: the configuration fails, the client's domain is still checked.
    const { client } = testClient({ senders: ["scanner@contoso.com"], transport: "graph" });
    const broken = await doctor({ MAILHOOK_CLIENTS: JSON.stringify([client]) });
    expect(broken.stdout).toMatch(/FAIL {2}settings: .*ENTRA/);
    expect(broken.stdout).toContain("PASS  mx contoso.com: MX contoso-com.mail.protection.outlook.com");
    expect(broken.stdout).not.toContain("set MAILHOOK_CLIENTS");

    const { client: anySender } = testClient({ senders: ["*"], defaultSender: undefined, transport: "smtp" });
    const none = await doctor({
      MAILHOOK_CLIENTS: JSON.stringify([anySender]),
      SMTP_AUTH: "basic",
      SMTP_PASSWORDS: JSON.stringify({ "*": "x" }),
    });
    expect(none.stdout).toContain(
      "WARN  domains: MAILHOOK_CLIENTS names no sending domain to check (no readable client sends as a@x or *@x)",
    );
    expect(none.stdout).not.toContain("set MAILHOOK_CLIENTS");

    const unset = await doctor({});
    expect(unset.stdout).toContain("fix: Pass --domain contoso.com or set MAILHOOK_CLIENTS.");
  });
});

/** A loopback port nothing listens on (bound, then closed): connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("mailhook doctor on port 25 (Direct Send and relay)", () => {
  const direct = () => testClient({ senders: ["*@contoso.com"], transport: "direct" }).client;
  const fixOf = (stdout: string, line: string) => {
    const out = stdout.split("\n");
    return out[out.findIndex((l) => l.startsWith(line)) + 1] ?? "";
  };

  it("reports a dropped connection as blocked by the platform when port 587 still connects", async () => {
    const dropping = await startDroppingPort();
    stops.push(dropping.stop);
    const submission = await startSmtp({ startTls: true, authMethods: ["XOAUTH2"] });
    const { code, stdout } = await doctor(
      {
        MAILHOOK_CLIENTS: JSON.stringify([direct()]),
        MX_ENDPOINT: `localhost:${dropping.port}`,
        ACCEPTED_DOMAINS: "contoso.com",
        SMTP_HOST: "localhost",
        SMTP_PORT: String(submission),
      },
      ["--timeout-ms", "500"],
    );
    expect(code).toBe(1);
    const line = `FAIL  mx endpoint localhost:${dropping.port}: blocked by the platform: outbound TCP ${dropping.port} is dropped on this network (no connection within 0.5 s), while localhost:${submission} connects`;
    expect(stdout).toContain(line);
    expect(fixOf(stdout, line)).toMatch(
      /use smtp \(SMTP AUTH on port 587\), graph or hve instead of direct and relay; for Direct Send, send from your own network/,
    );
    expect(fixOf(stdout, line)).toContain("a NAT gateway does not");
  });

  it("tells an endpoint that refuses, and one that refuses in its greeting, from a block", async () => {
    const refused = await closedPort();
    const submission = await startSmtp({ startTls: true, authMethods: ["XOAUTH2"] });
    const env = {
      MAILHOOK_CLIENTS: JSON.stringify([direct()]),
      ACCEPTED_DOMAINS: "contoso.com",
      SMTP_HOST: "localhost",
      SMTP_PORT: String(submission),
    };
    const closed = await doctor({ ...env, MX_ENDPOINT: `localhost:${refused}` }, ["--timeout-ms", "500"]);
    expect(closed.stdout).toContain(
      `FAIL  mx endpoint localhost:${refused}: the MX endpoint refuses connections (ECONNREFUSED)`,
    );
    expect(closed.stdout).not.toContain("blocked by the platform");
    const rejecting = await startSmtp({
      startTls: true,
      authMethods: [],
      refuse: "5.7.1 Service unavailable",
    });
    const greeting = await doctor({ ...env, MX_ENDPOINT: `localhost:${rejecting}` }, ["--timeout-ms", "500"]);
    expect(greeting.stdout).toMatch(
      new RegExp(
        `FAIL  mx endpoint localhost:${rejecting}: the MX endpoint refuses: 554 .*Service unavailable`,
      ),
    );
  });

  it("reports a name that does not resolve as a DNS failure, and no network at all as such", async () => {
    const env = { MAILHOOK_CLIENTS: JSON.stringify([direct()]), ACCEPTED_DOMAINS: "contoso.com" };
    const unknown = await doctor({ ...env, MX_ENDPOINT: "contoso-com.mail.protection.invalid" });
    expect(unknown.stdout).toContain(
      "FAIL  mx endpoint contoso-com.mail.protection.invalid:25: DNS failure: contoso-com.mail.protection.invalid does not resolve (ENOTFOUND)",
    );
    const dropping = await startDroppingPort();
    stops.push(dropping.stop);
    const offline = await doctor(
      {
        ...env,
        MX_ENDPOINT: `localhost:${dropping.port}`,
        SMTP_HOST: "localhost",
        SMTP_PORT: String(await closedPort()),
      },
      ["--timeout-ms", "300"],
    );
    expect(offline.stdout).toMatch(
      new RegExp(
        `FAIL  mx endpoint localhost:${dropping.port}: no outbound connection: neither localhost:${dropping.port} nor localhost:\\d+ connect within 0\\.3 s`,
      ),
    );
  });
});

describe("mailhook doctor after deploying", () => {
  let dir: string;
  const http: Server[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mailhook-doctor-"));
  });
  afterAll(async () => {
    await Promise.all(http.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    await rm(dir, { recursive: true, force: true });
  });

  /** A loopback stand-in for the deployed app: GET /api/health answers `status`. */
  async function app(status: number): Promise<string> {
    const server = createServer((request, response) => {
      response.writeHead(request.url === "/api/health" ? status : 404, {
        "content-type": "application/json",
      });
      response.end(JSON.stringify(status === 200 ? { status: "ok", time: new Date().toISOString() } : {}));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    http.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  }

  /** An azd environment file as azd writes it (godotenv: quotes and `$` escaped, whole numbers bare). */
  async function azdEnv(values: Record<string, string>): Promise<string> {
    const path = join(dir, `${Object.keys(values).length}-${Math.random().toString(36).slice(2)}.env`);
    const line = ([name, value]: [string, string]) =>
      /^\d+$/.test(value)
        ? `${name}=${value}`
        : `${name}="${value.replace(/[\\"!$`]/g, (c) => `\\${c}`).replace(/\n/g, "\\n")}"`;
    await writeFile(path, `${Object.entries(values).sort().map(line).join("\n")}\n`);
    return path;
  }

  it("checks the deployment from its azd environment: clients, the NAT gateway's IP in SPF, the app itself", async () => {
    const { client } = testClient({ senders: ["*@contoso.com"], transport: "direct" });
    const envFile = await azdEnv({
      AZURE_ENV_NAME: "mailhook-prod",
      MAILHOOK_CLIENTS: JSON.stringify([{ ...client, id: "scanners" }], null, 1),
      MX_ENDPOINT: "contoso-com.mail.protection.invalid",
      ACCEPTED_DOMAINS: "contoso.com",
      MAILHOOK_URL: await app(200),
      STATIC_OUTBOUND_IP: "203.0.113.7",
      MAILBOX_MESSAGES_PER_MINUTE: "30",
    });
    const { stdout } = await doctor({ MAILHOOK_CLIENTS: "[] from this shell, overridden" }, [
      "--env-file",
      envFile,
    ]);
    expect(stdout).toContain("PASS  client scanners: direct, senders *@contoso.com");
    expect(stdout).toContain("PASS  spf ip contoso.com: ip4:203.0.113.7 is authorized");
    expect(stdout).toContain(
      "WARN  egress: not checked: the address the app's mail leaves from is not known (the NAT gateway's is 203.0.113.7)",
    );
    expect(stdout).toMatch(
      /PASS {2}app http:\/\/127\.0\.0\.1:\d+\/api\/health: 200: the app started with its settings/,
    );
  });

  it("compares the app's egress address with the NAT gateway's IP and the SPF record", async () => {
    const { client } = testClient({ senders: ["*@contoso.com"], transport: "relay" });
    const env = {
      MAILHOOK_CLIENTS: JSON.stringify([client]),
      ACCEPTED_DOMAINS: "contoso.com",
      MX_ENDPOINT: "contoso-com.mail.protection.invalid",
    };
    const same = await doctor(env, ["--static-ip", "203.0.113.7", "--egress-ip", "203.0.113.7"]);
    expect(same.stdout).toContain("PASS  egress: mail leaves from 203.0.113.7, the NAT gateway's public IP");
    const bypass = await doctor(env, ["--static-ip", "203.0.113.7", "--egress-ip", "198.51.100.20"]);
    expect(bypass.code).toBe(1);
    expect(bypass.stdout).toContain(
      "FAIL  egress: mail leaves from 198.51.100.20, not from the NAT gateway's public IP 203.0.113.7",
    );
    expect(bypass.stdout).toContain("PASS  spf ip contoso.com: ip4:203.0.113.7 is authorized");
    expect(bypass.stdout).toContain("FAIL  spf ip contoso.com: ip4:198.51.100.20 is missing");
    const usage = await doctor(env, ["--egress-ip", "contoso.com"]);
    expect(usage.code).toBe(2);
  });

  it("reads MAILHOOK_URL as send and status do: with or without /api", async () => {
    const base = await app(200);
    for (const url of [base.replace(/\/api$/, ""), `${base}/v1/`]) {
      const { stdout } = await doctor({ MAILHOOK_URL: url });
      expect(stdout, url).toMatch(
        /PASS {2}app http:\/\/127\.0\.0\.1:\d+\/api\/health: 200: the app started with its settings/,
      );
    }
  });

  it("says the app could not start when /health fails, and points at the Key Vault references", async () => {
    const { client } = testClient({ senders: ["scanner@contoso.com"], transport: "smtp" });
    const { code, stdout } = await doctor({
      MAILHOOK_CLIENTS: JSON.stringify([client]),
      SMTP_AUTH: "basic",
      SMTP_PASSWORDS: JSON.stringify({ "*": "x" }),
      SMTP_HOST: "localhost",
      SMTP_PORT: String(await startSmtp({ startTls: true, authMethods: ["LOGIN"] })),
      MAILHOOK_URL: await app(500),
    });
    expect(code).toBe(1);
    const line = stdout.split("\n").find((l) => l.startsWith("FAIL  app "));
    expect(line).toMatch(/: 500: the app could not start with its settings$/);
    expect(stdout).toContain("azd hooks run postdeploy");
  });

  it("names a setting that holds a Key Vault reference instead of its value, and never sends the reference as a secret", async () => {
    const graph = await entra(["Mail.Send"]);
    const { client } = testClient({ senders: ["scanner@contoso.com"], transport: "graph" });
    const { code, stdout } = await doctor({
      MAILHOOK_CLIENTS: JSON.stringify([client]),
      ...graph.env,
      ENTRA_CLIENT_SECRET: "@Microsoft.KeyVault(VaultName=kv-mailhook-abc;SecretName=entra-client-secret)",
    });
    expect(code).toBe(1);
    expect(stdout).toContain(
      "FAIL  settings: ENTRA_CLIENT_SECRET: this looks like an unresolved Key Vault reference (@Microsoft.KeyVault(VaultName=kv-mailhook-abc;SecretName=entra-client-secret))",
    );
    expect(stdout).toContain("--env-file .azure/<environment>/.env");
    const fake = fakes.at(-1)!;
    expect(fake.tokenRequests).toEqual([]);
  });
});
