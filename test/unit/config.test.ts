import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../shared/config.js";
import { sha256Hex } from "../../shared/domain/client.js";

const client = {
  id: "scanner",
  keySha256: sha256Hex("k"),
  senders: ["*@contoso.com"],
  defaultSender: "scanner@contoso.com",
  transport: "smtp",
};
const base = {
  AzureWebJobsStorage: "UseDevelopmentStorage=true",
  MAILHOOK_CLIENTS: JSON.stringify([client]),
  SMTP_AUTH: "basic",
  SMTP_PASSWORDS: JSON.stringify({ "scanner@contoso.com": "secret" }),
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("configuration", () => {
  it("applies Exchange Online's defaults", () => {
    const config = loadConfig(base);
    expect(config.smtp).toMatchObject({ host: "smtp.office365.com", port: 587 });
    expect(config.limits).toEqual(
      expect.objectContaining({ recipientsPerMessage: 500, messageBytes: 35 * 1024 * 1024 }),
    );
    expect(config.graphEndpoint).toBe("https://graph.microsoft.com");
  });

  it("uses the whole rolling window unless PACING_SMOOTH is exactly true or false", () => {
    expect(loadConfig(base).pacing.smooth).toBe(false);
    expect(loadConfig({ ...base, PACING_SMOOTH: "true" }).pacing.smooth).toBe(true);
    expect(loadConfig({ ...base, PACING_SMOOTH: "false" }).pacing.smooth).toBe(false);
    expect(problems({ ...base, PACING_SMOOTH: "yes" }).join()).toContain("PACING_SMOOTH");
  });

  it("lists every problem at once, naming each setting", () => {
    const found = problems({
      MAILHOOK_CLIENTS: JSON.stringify([{ ...client, keySha256: "ABC", transport: "fax" }]),
      SMTP_PORT: "465",
      SMTP_HOST: "52.96.0.1",
      MAX_MESSAGE_BYTES: "-1",
    });
    const text = found.join("\n");
    expect(text).toContain("AzureWebJobsStorage");
    expect(text).toContain("MAILHOOK_CLIENTS [0.keySha256]");
    expect(text).toContain("MAILHOOK_CLIENTS [0.transport]");
    expect(text).toMatch(/SMTP_PORT: 465 \(implicit TLS\) is not supported/);
    expect(text).toMatch(/SMTP_HOST: must be a DNS name/);
    expect(text).toContain("MAX_MESSAGE_BYTES");
    expect(found.length).toBeGreaterThanOrEqual(6);
  });

  it("refuses clients that are not valid JSON, share a key or default to a sender they may not use", () => {
    expect(problems({ ...base, MAILHOOK_CLIENTS: "[{" })).toEqual(["MAILHOOK_CLIENTS: is not valid JSON"]);
    const twins = JSON.stringify([client, { ...client, id: "other" }]);
    expect(problems({ ...base, MAILHOOK_CLIENTS: twins }).join()).toContain("two clients share one key");
    const wrongDefault = JSON.stringify([{ ...client, defaultSender: "x@fabrikam.com" }]);
    expect(problems({ ...base, MAILHOOK_CLIENTS: wrongDefault }).join()).toContain("defaultSender");
  });

  it("requires the Entra app registration when a client uses Graph or SMTP with OAuth", () => {
    const graph = JSON.stringify([{ ...client, transport: "graph" }]);
    const text = problems({ ...base, MAILHOOK_CLIENTS: graph }).join("\n");
    expect(text).toContain("ENTRA_TENANT_ID");
    expect(text).toContain("ENTRA_CLIENT_ID");
    expect(text).toContain("ENTRA_CLIENT_CERTIFICATE_PATH");
  });
});

describe("High Volume Email settings", () => {
  const hve = JSON.stringify([
    { ...client, senders: ["alerts@contoso.com"], defaultSender: undefined, transport: "hve" },
  ]);

  it("defaults to smtp.hve.mx.microsoft:587 and HVE's own limits", () => {
    const config = loadConfig({
      ...base,
      MAILHOOK_CLIENTS: hve,
      ACCEPTED_DOMAINS: "contoso.com",
      HVE_PASSWORDS: JSON.stringify({ "alerts@contoso.com": "pw" }),
    });
    expect(config.hve).toMatchObject({ host: "smtp.hve.mx.microsoft", port: 587, recipientsPerMessage: 50 });
    expect(config.hve.messageBytes).toBe(10 * 1024 * 1024);
    expect(config.pacing.hve).toEqual({
      messagesPerWindow: 60,
      recipientsPerWindow: 100_000,
      concurrency: 3,
    });
  });

  it("requires ACCEPTED_DOMAINS, and the Entra app unless every HVE account has a password", () => {
    const text = problems({ ...base, MAILHOOK_CLIENTS: hve }).join("\n");
    expect(text).toMatch(/ACCEPTED_DOMAINS: is required when a client uses hve/);
    expect(text).toMatch(
      /ENTRA_TENANT_ID: is required when .*hve with an account that has no HVE_PASSWORDS entry/,
    );
    const withPassword = {
      ...base,
      MAILHOOK_CLIENTS: hve,
      ACCEPTED_DOMAINS: "contoso.com",
      HVE_PASSWORDS: JSON.stringify({ "Alerts@contoso.com": "pw" }),
    };
    expect(problems(withPassword)).toEqual([]);
    // A sender pattern names no account: only "*" (or OAuth) covers it.
    const pattern = JSON.stringify([{ ...client, transport: "hve" }]);
    expect(problems({ ...withPassword, MAILHOOK_CLIENTS: pattern }).join()).toContain("ENTRA_TENANT_ID");
    expect(problems({ ...withPassword, MAILHOOK_CLIENTS: pattern, HVE_PASSWORDS: '{"*":"pw"}' })).toEqual([]);
  });
});

describe("storage settings", () => {
  const { AzureWebJobsStorage: _connection, ...withoutStorage } = base;

  it("takes a connection string, or identity-based settings as Azure Functions names them", () => {
    expect(loadConfig(base).storage).toEqual({
      kind: "connectionString",
      connectionString: "UseDevelopmentStorage=true",
    });
    expect(
      loadConfig({
        ...withoutStorage,
        AzureWebJobsStorage__accountName: "mailhookdata",
        AzureWebJobsStorage__clientId: "00000000-0000-0000-0000-000000000001",
      }).storage,
    ).toEqual({
      kind: "identity",
      blobUri: "https://mailhookdata.blob.core.windows.net",
      queueUri: "https://mailhookdata.queue.core.windows.net",
      tableUri: "https://mailhookdata.table.core.windows.net",
      clientId: "00000000-0000-0000-0000-000000000001",
    });
  });

  it("says what is missing when there is neither", () => {
    expect(problems(withoutStorage).join()).toContain("AzureWebJobsStorage__accountName");
    expect(
      problems({ ...withoutStorage, AzureWebJobsStorage__blobServiceUri: "http://insecure" }).join(),
    ).toContain("AzureWebJobsStorage__blobServiceUri");
  });
});

describe("unresolved Key Vault references", () => {
  const reference = "@Microsoft.KeyVault(VaultName=kv-mailhook;SecretName=entra-client-secret)";
  const graph = JSON.stringify([{ ...client, transport: "graph" }]);
  const entra = { ENTRA_TENANT_ID: "contoso.onmicrosoft.com", ENTRA_CLIENT_ID: "app" };

  it("names a secret that would otherwise pass validation and fail only at the first send", () => {
    expect(() =>
      loadConfig({ ...base, MAILHOOK_CLIENTS: graph, ...entra, ENTRA_CLIENT_SECRET: "s" }),
    ).not.toThrow();
    expect(problems({ ...base, MAILHOOK_CLIENTS: graph, ...entra, ENTRA_CLIENT_SECRET: reference })).toEqual([
      expect.stringMatching(
        /^ENTRA_CLIENT_SECRET: this looks like an unresolved Key Vault reference \(@Microsoft\.KeyVault\(VaultName=kv-mailhook;SecretName=entra-client-secret\)\)/,
      ),
    ]);
  });

  it("reports the reference instead of the format error, and still lists every other problem", () => {
    const found = problems({
      ...base,
      MAILHOOK_CLIENTS:
        "@Microsoft.KeyVault(SecretUri=https://kv-mailhook.vault.azure.net/secrets/mailhook-clients)",
      SMTP_PORT: "465",
    });
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^MAILHOOK_CLIENTS: this looks like an unresolved Key Vault reference/);
    expect(found.join()).not.toContain("is not valid JSON");
    expect(found[1]).toMatch(/^SMTP_PORT: 465/);
  });

  it("checks any setting, in any letter case, and only references", () => {
    const found = problems({ ...base, SOME_OTHER_SETTING: " @microsoft.keyvault(VaultName=x;SecretName=y)" });
    expect(found).toEqual([expect.stringMatching(/^SOME_OTHER_SETTING: this looks like an unresolved/)]);
    expect(problems({ ...base, SOME_OTHER_SETTING: "mentions @Microsoft.KeyVault( in passing" })).toEqual([]);
  });
});
