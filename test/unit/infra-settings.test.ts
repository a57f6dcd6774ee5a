import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../dev/settings.js";
import { settingNames } from "../../shared/config.js";
import { defaultStorageNames } from "../../shared/storage/azure/account.js";

// No Bicep CLI can run here, so these checks read the Bicep as text: the settings contract with
// shared/config.ts, the declared storage names, role GUIDs and the shape azd expects.
const root = projectRoot();
const read = (path: string) => readFileSync(join(root, path), "utf8");
const infraFiles = [
  "infra/main.bicep",
  ...readdirSync(join(root, "infra/modules")).map((f) => `infra/modules/${f}`),
];

/** The setting names the config schema reads. */
function configSettingNames(): string[] {
  expect(settingNames.length, "too few settings in shared/config.ts").toBeGreaterThan(10);
  return [...settingNames];
}

/** Every app setting functionApp.bicep sets, between its app-settings markers. */
function bicepSettingNames(): string[] {
  const source = read("infra/modules/functionApp.bicep");
  const region = source.slice(source.indexOf("// app-settings:begin"), source.indexOf("// app-settings:end"));
  return [...region.matchAll(/^\s+([A-Za-z_][A-Za-z0-9_]*):\s/gm)].map((m) => m[1]!);
}

// Read by the app but deliberately not set by the Bicep, each with the reason.
const deliberatelyUnset: Record<string, string> = {
  // Storage: Azure signs in with the managed identity (AzureWebJobsStorage__accountName / __clientId).
  AzureWebJobsStorage: "connection string with a key; Azure uses identity-based access",
  AzureWebJobsStorage__blobServiceUri: "derived from __accountName",
  AzureWebJobsStorage__queueServiceUri: "derived from __accountName",
  AzureWebJobsStorage__tableServiceUri: "derived from __accountName",
  // Certificate files: Flex Consumption has no certificate store to load them from; use a client secret.
  ENTRA_CLIENT_CERTIFICATE_PATH: "certificate file; Azure uses ENTRA_CLIENT_SECRET from Key Vault",
  RELAY_CLIENT_CERTIFICATE_PATH:
    "certificate-based relay needs a certificate file; IP-based relay uses the NAT IP",
  ENTRA_CLIENT_CERTIFICATE: "not in the Bicep yet",
  RELAY_CLIENT_CERTIFICATE: "not in the Bicep yet",
  // Pacing tuning knobs (shared/pacing): the code's defaults fit Exchange Online; change them in the portal.
  MAILBOX_MESSAGE_WINDOW_SECONDS: "tuning; default 60 s is Exchange Online's window",
  PACING_SAFETY_MARGIN_PERCENT: "tuning; default 0",
  PACING_CLOCK_SKEW_MS: "tuning; default 1000 ms",
  PACING_LEASE_SECONDS: "tuning; default 300 s",
  STATUS_RETENTION_DAYS: "tuning; default 30 days",
  WEBHOOK_ALLOW_HTTP: "local development only; production webhooks are https",
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: "local development only; production webhooks go to public addresses",
  FAILED_MESSAGE_RETENTION_DAYS: "tuning; default 7 days",
};

// Set by the Bicep for the Functions host, not read by shared/config.ts.
const platformOnly = [
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
  // Read by the Functions host's own storage connection (the queue triggers), not by shared/config.ts.
  "AzureWebJobsStorage__credential",
];

describe("infra/ and the app's settings", () => {
  it("sets every setting the config schema reads, unless deliberately unset", () => {
    const set = new Set(bicepSettingNames());
    const missing = configSettingNames().filter((name) => !set.has(name) && !(name in deliberatelyUnset));
    expect(missing).toEqual([]);
  });

  it("sets nothing the app does not read, besides the platform's own settings", () => {
    const read = new Set(configSettingNames());
    const extra = bicepSettingNames().filter((name) => !read.has(name) && !platformOnly.includes(name));
    expect(extra).toEqual([]);
    for (const name of Object.keys(deliberatelyUnset)) expect(bicepSettingNames()).not.toContain(name);
  });

  it("sets storage by identity, never a connection string or key", () => {
    const names = bicepSettingNames();
    expect(names).toEqual(
      expect.arrayContaining([
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
      ]),
    );
    expect(names).not.toContain("AzureWebJobsStorage");
    for (const file of infraFiles) expect(read(file), file).not.toMatch(/listKeys|AccountKey=/);
    expect(read("infra/modules/storage.bicep")).toMatch(/allowSharedKeyAccess: false/);
  });

  it("references the secrets from Key Vault", () => {
    const source = read("infra/modules/functionApp.bicep");
    for (const name of ["MAILHOOK_CLIENTS", "ENTRA_CLIENT_SECRET", "SMTP_PASSWORDS"])
      expect(source).toMatch(new RegExp(`${name}: '\\$\\{keyVaultReference\\}`));
  });

  it("declares the queues, container and tables the app uses", () => {
    const storage = read("infra/modules/storage.bicep");
    const declared = [...storage.matchAll(/^\s+name: '([a-z0-9-]+)'$/gm)].map((m) => m[1]);
    expect(declared).toEqual(
      expect.arrayContaining([
        defaultStorageNames.queue,
        defaultStorageNames.poisonQueue,
        defaultStorageNames.container,
        defaultStorageNames.table,
        defaultStorageNames.pacing,
        defaultStorageNames.idempotency,
        defaultStorageNames.webhookQueue,
      ]),
    );
  });
});

// Built-in role definition ids (Microsoft Learn, "Azure built-in roles").
const knownRoles: Record<string, string> = {
  "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
  "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
  "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
  "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
  "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
};

/** Brackets balance outside strings and comments (a cheap stand-in for `bicep build`). */
function unbalanced(source: string): string | undefined {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  for (let i = 0; i < source.length; i++) {
    const ch = source[i]!;
    if (ch === "/" && source[i + 1] === "/")
      i = source.indexOf("\n", i) === -1 ? source.length : source.indexOf("\n", i);
    else if (ch === "'") {
      for (i++; i < source.length && source[i] !== "'"; i++) if (source[i] === "\\") i++;
    } else if ("([{".includes(ch)) stack.push(ch);
    else if (ch in pairs && stack.pop() !== pairs[ch]) return `unexpected ${ch} at ${i}`;
  }
  return stack.length > 0 ? `unclosed ${stack.join("")}` : undefined;
}

describe("the Bicep files", () => {
  it.each(infraFiles)("%s: balanced, every param described, modules present", (file) => {
    const source = read(file);
    expect(unbalanced(source)).toBeUndefined();
    const lines = source.split("\n");
    lines.forEach((line, index) => {
      if (!/^param /.test(line)) return;
      let j = index - 1;
      const decorators: string[] = [];
      while (j >= 0 && lines[j]!.startsWith("@")) decorators.push(lines[j--]!);
      expect(
        decorators.some((d) => d.startsWith("@description(")),
        line,
      ).toBe(true);
    });
    for (const [, module] of source.matchAll(/^module \w+ '([^']+)'/gm))
      expect(existsSync(join(root, dirname(file), module!)), module).toBe(true);
  });

  it("uses only known role GUIDs, each named in a comment", () => {
    for (const file of infraFiles) {
      const source = read(file);
      for (const [guid] of source.matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g)) {
        const role = knownRoles[guid];
        expect(role, `${file}: unknown role ${guid}`).toBeDefined();
        expect(source, `${file}: ${guid} needs its name in a comment`).toContain(role!);
      }
    }
  });

  it("main.parameters.json fills main.bicep's parameters, required ones included", () => {
    const main = read("infra/main.bicep");
    const params = [...main.matchAll(/^param (\w+) \w+( =)?/gm)].map((m) => ({
      name: m[1]!,
      optional: !!m[2],
    }));
    const given = Object.keys(JSON.parse(read("infra/main.parameters.json")).parameters);
    for (const name of given) expect(params.map((p) => p.name)).toContain(name);
    for (const p of params.filter((p) => !p.optional)) expect(given).toContain(p.name);
  });

  it("azure.yaml deploys the Function App tagged for its one service", () => {
    const azureYaml = read("azure.yaml");
    expect(azureYaml).toMatch(/^services:\n {2}api:\n(?: {4}.*\n)*? {4}host: function$/m);
    expect(azureYaml).toMatch(/^ {2}path: infra$/m);
    expect(read("infra/modules/functionApp.bicep")).toContain("'azd-service-name': 'api'");
    expect(read("infra/modules/functionApp.bicep")).toMatch(/runtime: \{ name: 'node', version: '22' \}/);
    expect(read("infra/modules/functionApp.bicep")).toMatch(
      /sku: \{ name: 'FC1', tier: 'FlexConsumption' \}/,
    );
  });

  it("prints the SPF record to publish", () => {
    expect(read("infra/main.bicep")).toMatch(
      /output SPF_RECORD string = .*'v=spf1 ip4:\$\{staticIp\} include:spf\.protection\.outlook\.com ~all'/,
    );
  });
});
