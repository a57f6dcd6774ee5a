import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../dev/settings.js";
import { defaultDeployFolder } from "../../scripts/deploy/folder.js";
import { loadConfig, settingNames } from "../../shared/config.js";
import { defaultStorageNames } from "../../shared/storage/azure/account.js";

// No Bicep CLI can run here, so these checks read infra/ as text: the settings contract with shared/config.ts,
// how each setting reaches Bicep from the azd environment, the declared storage names, role GUIDs and the shape
// azd expects. They do not evaluate Bicep.
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

/** `NAME: value` lines between a file's app-settings markers. */
function settingsRegion(path: string): Map<string, string> {
  const source = read(path);
  const start = source.indexOf("// app-settings:begin");
  const end = source.indexOf("// app-settings:end");
  expect(start, `${path}: app-settings markers`).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  const entries = [...source.slice(start, end).matchAll(/^\s+([A-Za-z_][A-Za-z0-9_]*):\s+(.+)$/gm)];
  return new Map(entries.map((m) => [m[1]!, m[2]!.trim()]));
}

/** mailhook's settings (main.bicep) and the platform's (functionApp.bicep). */
const mailhookSettings = () => settingsRegion("infra/main.bicep");
const platformSettings = () => settingsRegion("infra/modules/functionApp.bicep");
const bicepSettingNames = () => [...mailhookSettings().keys(), ...platformSettings().keys()];

interface BicepParam {
  name: string;
  type: string;
  /** The default's literal text, quotes removed; undefined when the parameter is required. */
  fallback?: string;
  secure: boolean;
}

/** main.bicep's parameters with their type, default and whether they are @secure(). */
function mainParams(): Map<string, BicepParam> {
  const lines = read("infra/main.bicep").split("\n");
  const params = new Map<string, BicepParam>();
  lines.forEach((line, index) => {
    const m = /^param (\w+) (\w+)(?: = (.+))?$/.exec(line);
    if (!m) return;
    const decorators: string[] = [];
    for (let j = index - 1; j >= 0 && lines[j]!.startsWith("@"); j--) decorators.push(lines[j]!);
    params.set(m[1]!, {
      name: m[1]!,
      type: m[2]!,
      fallback: m[3]?.replace(/^'(.*)'$/, "$1"),
      secure: decorators.includes("@secure()"),
    });
  });
  return params;
}

interface ParamFromEnv {
  param: string;
  variable: string;
  fallback?: string;
  conversion: "int" | "bool" | "none";
}

/** main.bicepparam's assignments; each must read one azd environment variable. */
function bicepparamEntries(): Map<string, ParamFromEnv> {
  const source = read("infra/main.bicepparam");
  expect(source).toMatch(/^using 'main\.bicep'$/m);
  expect(unbalanced(source)).toBeUndefined();
  const entries = new Map<string, ParamFromEnv>();
  for (const line of source.split("\n").filter((l) => l.startsWith("param "))) {
    const m =
      /^param (\w+) = (?:(int|bool)\()?readEnvironmentVariable\('([A-Za-z_][A-Za-z0-9_]*)'(?:, '([^']*)')?\)(\))?$/.exec(
        line,
      );
    expect(m, `main.bicepparam: ${line}`).not.toBeNull();
    expect(!!m![2], `${line}: the conversion needs its closing bracket`).toBe(!!m![5]);
    entries.set(m![1]!, {
      param: m![1]!,
      variable: m![3]!,
      fallback: m![4],
      conversion: (m![2] as "int" | "bool" | undefined) ?? "none",
    });
  }
  return entries;
}

const conversionFor: Record<string, ParamFromEnv["conversion"]> = {
  int: "int",
  bool: "bool",
  string: "none",
};

// Read by the app but deliberately not set by the Bicep, each with the reason.
const deliberatelyUnset: Record<string, string> = {
  // Storage: Azure signs in with the managed identity (AzureWebJobsStorage__accountName / __clientId).
  AzureWebJobsStorage: "connection string with a key; Azure uses identity-based access",
  AzureWebJobsStorage__blobServiceUri: "derived from __accountName",
  AzureWebJobsStorage__queueServiceUri: "derived from __accountName",
  AzureWebJobsStorage__tableServiceUri: "derived from __accountName",
  // Certificate files are for local use: in Azure the PEM comes from Key Vault (ENTRA_/RELAY_CLIENT_CERTIFICATE).
  ENTRA_CLIENT_CERTIFICATE_PATH: "a local file; Azure sets ENTRA_CLIENT_CERTIFICATE from Key Vault",
  RELAY_CLIENT_CERTIFICATE_PATH: "a local file; Azure sets RELAY_CLIENT_CERTIFICATE from Key Vault",
  WEBHOOK_ALLOW_HTTP: "local development only; production webhooks are https",
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: "local development only; production webhooks go to public addresses",
};

// Set by the Bicep for the Functions host, not read by shared/config.ts.
const platformOnly = [
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
  // Read by the Functions host's own storage connection (the queue triggers), not by shared/config.ts.
  "AzureWebJobsStorage__credential",
];

const keyVaultReference = /^'\$\{keyVaultReference\}\$\{secretNames\.([A-Z_]+)\}\)'$/;

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

  it("takes each plain setting from the azd variable of the same name, converted for its parameter's type", () => {
    const params = mainParams();
    const fromEnv = bicepparamEntries();
    for (const [setting, value] of mailhookSettings()) {
      if (keyVaultReference.test(value)) continue;
      const m = /^(?:string\((\w+)\)|(\w+))$/.exec(value);
      expect(m, `${setting}: ${value} is not a parameter`).not.toBeNull();
      const param = params.get(m![1] ?? m![2]!);
      expect(param, `${setting}: no main.bicep parameter ${value}`).toBeDefined();
      // Numbers and switches become their text; a string parameter is passed as it is.
      expect(!!m![1], `${setting}: string() exactly when the parameter is not a string`).toBe(
        param!.type !== "string",
      );
      expect(param!.secure, `${setting}: a secret belongs in Key Vault`).toBe(false);
      const entry = fromEnv.get(param!.name);
      expect(entry?.variable, `${param!.name} is read from ${setting}`).toBe(setting);
      expect(entry?.conversion, `${param!.name}: ${param!.type}`).toBe(conversionFor[param!.type]);
    }
  });

  it("references each secret from Key Vault, filled from the azd variable of the same name into a @secure() parameter", () => {
    const params = mainParams();
    const byVariable = new Map([...bicepparamEntries().values()].map((e) => [e.variable, e]));
    const vaultOutputs = read("infra/modules/keyVault.bicep");
    const main = read("infra/main.bicep");
    const secrets = [...mailhookSettings()].filter(([, value]) => keyVaultReference.test(value));
    expect(secrets.map(([name]) => name).sort()).toEqual([
      "ENTRA_CLIENT_CERTIFICATE",
      "ENTRA_CLIENT_SECRET",
      "HVE_PASSWORDS",
      "MAILHOOK_CLIENTS",
      "RELAY_CLIENT_CERTIFICATE",
      "SMTP_PASSWORDS",
    ]);
    for (const [setting, value] of secrets) {
      expect(keyVaultReference.exec(value)![1], setting).toBe(setting);
      const entry = byVariable.get(setting);
      expect(entry, `main.bicepparam reads ${setting}`).toBeDefined();
      expect(params.get(entry!.param)?.secure, `${entry!.param} is @secure()`).toBe(true);
      expect(main, `${entry!.param} goes to the vault`).toMatch(
        new RegExp(`^ {4}${entry!.param}: ${entry!.param}$`, "m"),
      );
      expect(vaultOutputs).toMatch(new RegExp(`^ {2}${setting}: `, "m"));
    }
  });

  it("fills every main.bicep parameter from the azd environment, with main.bicep's default and type", () => {
    const params = mainParams();
    const fromEnv = bicepparamEntries();
    expect([...fromEnv.keys()].sort()).toEqual([...params.keys()].sort());
    for (const param of params.values()) {
      const entry = fromEnv.get(param.name)!;
      expect(entry.conversion, `${param.name}: ${param.type}`).toBe(conversionFor[param.type]);
      if (param.fallback !== undefined) expect(entry.fallback, param.name).toBe(param.fallback);
    }
    expect(fromEnv.get("environmentName")).toMatchObject({ variable: "AZURE_ENV_NAME", fallback: undefined });
    expect(fromEnv.get("location")).toMatchObject({ variable: "AZURE_LOCATION", fallback: undefined });
  });

  it("has no parameters JSON that pastes raw values into JSON text", () => {
    const files = readdirSync(join(root, "infra"), { recursive: true }).map(String);
    expect(files.filter((f) => f.endsWith(".parameters.json"))).toEqual([]);
    for (const file of files.filter((f) => f.endsWith(".json")))
      expect(read(`infra/${file}`), file).not.toContain("${");
  });

  it("runs with the app's own defaults when the azd environment sets nothing", () => {
    const params = mainParams();
    const fromEnv = bicepparamEntries();
    const required = {
      AzureWebJobsStorage__accountName: "stmailhookexample",
      MAILHOOK_CLIENTS: JSON.stringify([
        { id: "scanners", keySha256: "0".repeat(64), senders: ["*@contoso.com"], transport: "graph" },
      ]),
      ENTRA_TENANT_ID: "contoso.onmicrosoft.com",
      ENTRA_CLIENT_ID: "app",
      ENTRA_CLIENT_SECRET: "secret",
    };
    // What Bicep would set from each default: string(int) is the decimal text, a string goes as it is.
    const deployed: Record<string, string> = {};
    for (const [setting, value] of mailhookSettings()) {
      if (keyVaultReference.test(value)) continue;
      const param = params.get(/^(?:string\((\w+)\)|(\w+))$/.exec(value)!.slice(1).find(Boolean)!)!;
      deployed[setting] = fromEnv.get(param.name)!.fallback ?? "";
    }
    expect(Object.keys(deployed).length).toBeGreaterThan(15);
    expect(loadConfig({ ...deployed, ...required })).toEqual(loadConfig(required));
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
        defaultStorageNames.activity,
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

  it("azure.yaml deploys the staged folder as it is, staged before packaging", () => {
    const azureYaml = read("azure.yaml");
    expect(azureYaml).toMatch(new RegExp(`^ {4}dist: ${defaultDeployFolder.replace(".", "\\.")}$`, "m"));
    expect(azureYaml).toMatch(/^ {4}remoteBuild: false$/m);
    const prepackage = /^ {6}prepackage:\n((?: {8}.*\n)+)/m.exec(azureYaml)?.[1] ?? "";
    expect(prepackage.match(/run: npm run stage$/gm)).toHaveLength(2);
    expect(JSON.parse(read("package.json")).scripts.stage).toMatch(
      /^npm run build && node dist\/scripts\/deploy\/stage\.js$/,
    );
    // azd refuses remoteBuild: false when the ignore file drops node_modules (azure-dev, service_target_functionapp.go).
    expect(read(".funcignore")).not.toMatch(/^\/?node_modules/m);
    expect(read(".gitignore")).toMatch(/^\.deploy\/$/m);
  });

  it("prints the SPF record to publish", () => {
    expect(read("infra/main.bicep")).toMatch(
      /output SPF_RECORD string = .*'v=spf1 ip4:\$\{staticIp\} include:spf\.protection\.outlook\.com ~all'/,
    );
  });
});
