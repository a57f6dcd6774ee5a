import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runCli } from "../../cli/run.js";
import { testClient } from "../support/env.js";
import { type FakeGraph, startFakeGraph } from "../support/fakeGraph.js";
import { startDnsServer } from "./doctor-dnsServer.js";

type Dns = Awaited<ReturnType<typeof startDnsServer>>;
let dns: Dns;
const servers: SMTPServer[] = [];
const fakes: FakeGraph[] = [];

/** A loopback SMTP endpoint like Exchange Online's: STARTTLS with the trusted test certificate, AUTH after TLS. */
async function startSmtp(options: { startTls: boolean; authMethods: string[] }): Promise<number> {
  const server = new SMTPServer({
    key: inject("tlsKey"),
    cert: inject("tlsCert"),
    hideSTARTTLS: !options.startTls,
    authMethods: options.authMethods,
    minVersion: "TLSv1.2",
    onAuth: (_auth, _session, done) => done(new Error("not in this test")),
  });
  server.on("error", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return (server.server.address() as AddressInfo).port;
}

beforeAll(async () => {
  dns = await startDnsServer({
    "contoso.com": {
      mx: [[0, "contoso-com.mail.protection.outlook.com"]],
      txt: [
        ["v=spf1 ip4:203.0.113.7 include:spf.protection.outlook.com -all"],
        ["google-site-verification=x"],
      ],
    },
    "fabrikam.com": { mx: [[10, "mx.fabrikam-mail.net"]], txt: [["v=spf1 include:_spf.example.net ~all"]] },
  });
});
afterAll(async () => {
  await dns?.stop();
  await Promise.all(fakes.map((f) => f.stop()));
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A loopback Entra token endpoint (and Graph) granting `roles`; its settings for the doctor. */
async function entra(roles: string[]) {
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
    const port = await startSmtp({ startTls: true, authMethods: ["LOGIN", "PLAIN", "XOAUTH2"] });
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
    expect(code).toBe(0);
    expect(stdout).not.toContain("secret");
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
    expect(stdout).toMatch(/FAIL {2}mx nowhere\.example: no MX record \(ENOTFOUND\)/);
  });
});
