import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../dev/settings.js";

// The POSIX azd hooks, run by sh as azd runs them, against a stand-in for the Azure CLI that records its
// arguments and answers like `az` would. PATH holds only the tools the hooks use, so a real `az` on the machine
// is never called. (No PowerShell here: the .ps1 twins are checked as text only.)
const run = promisify(execFile);
const hooks = join(projectRoot(), "infra", "hooks");
let dir: string;
let tools: string;
let shell: string;

const fakeAz = `#!/bin/sh
echo "$*" >> "$AZ_LOG"
case "$*" in
  "provider show"*) echo "$AZ_PROVIDER_STATE" ;;
  "rest --method get"*)
    n=$(cat "$AZ_GETS" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$AZ_GETS"
    if [ "$n" -le "$AZ_UNRESOLVED_GETS" ]; then printf 'MAILHOOK_CLIENTS\\tAccessToKeyVaultDenied\\n'; fi ;;
esac
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailhook-hooks-"));
  shell = (await run("sh", ["-c", "command -v sh"])).stdout.trim();
  tools = join(dir, "tools");
  await mkdir(tools);
  await symlink(process.execPath, join(tools, "node"));
  for (const tool of ["cat", "grep", "tr", "sleep"]) {
    const { stdout } = await run("sh", ["-c", `command -v ${tool}`]);
    await symlink(stdout.trim(), join(tools, tool));
  }
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** Runs one hook; with `az` set, a fake Azure CLI is on PATH. Answers the exit code, output and az calls. */
async function hook(
  name: string,
  env: Record<string, string>,
  az?: { providerState?: string; unresolvedGets?: number },
) {
  const runDir = await mkdtemp(join(dir, "run-"));
  const path = [tools];
  if (az) {
    await writeFile(join(runDir, "az"), fakeAz);
    await chmod(join(runDir, "az"), 0o755);
    path.unshift(runDir);
  }
  const log = join(runDir, "az.log");
  const result = await run(shell, [join(hooks, name)], {
    timeout: 20_000,
    env: {
      PATH: path.join(":"),
      AZ_LOG: log,
      AZ_GETS: join(runDir, "gets"),
      AZ_PROVIDER_STATE: az?.providerState ?? "Registered",
      AZ_UNRESOLVED_GETS: String(az?.unresolvedGets ?? 0),
      ...env,
    },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  const calls = await readFile(log, "utf8").then(
    (text) => text.trim().split("\n"),
    () => [],
  );
  return { ...result, calls };
}

const clients = (transport: string) =>
  JSON.stringify([{ id: "scanners", keySha256: "0".repeat(64), senders: ["*@contoso.com"], transport }]);

describe("the preprovision hook", () => {
  const subscription = { AZURE_SUBSCRIPTION_ID: "00000000-0000-0000-0000-00000000000a" };

  it("stops before anything is created when MAILHOOK_CLIENTS is missing or not a JSON array", async () => {
    const missing = await hook("preprovision.sh", subscription);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("npx mailhook keys new");
    for (const value of ["[{", '{"id":"x"}'])
      expect((await hook("preprovision.sh", { ...subscription, MAILHOOK_CLIENTS: value })).code).toBe(1);
  });

  it("says that Azure blocks port 25 when a client uses direct or relay, and only then", async () => {
    const relay = await hook("preprovision.sh", { ...subscription, MAILHOOK_CLIENTS: clients("relay") });
    expect(relay.code).toBe(0);
    expect(relay.stdout).toMatch(/Azure blocks outbound\nport 25 for most subscription types/);
    expect(relay.stdout).toContain("troubleshoot-outbound-smtp-connectivity");
    const graph = await hook("preprovision.sh", { ...subscription, MAILHOOK_CLIENTS: clients("graph") });
    expect(graph).toMatchObject({ code: 0, stdout: "" });
  });

  it("registers Microsoft.App for the static outbound IP when it is not registered yet", async () => {
    const env = { ...subscription, MAILHOOK_CLIENTS: clients("graph"), MAILHOOK_STATIC_OUTBOUND_IP: "True" };
    const fresh = await hook("preprovision.sh", env, { providerState: "NotRegistered" });
    expect(fresh.code).toBe(0);
    expect(fresh.calls).toEqual([
      `provider show --namespace Microsoft.App --subscription ${subscription.AZURE_SUBSCRIPTION_ID} --query registrationState --output tsv`,
      `provider register --namespace Microsoft.App --subscription ${subscription.AZURE_SUBSCRIPTION_ID} --wait`,
    ]);
    const registered = await hook("preprovision.sh", env, { providerState: "Registered" });
    expect(registered.calls).toHaveLength(1);
    const off = await hook("preprovision.sh", { ...env, MAILHOOK_STATIC_OUTBOUND_IP: "false" }, {});
    expect(off.calls).toEqual([]);
    const noCli = await hook("preprovision.sh", env);
    expect(noCli.code).toBe(1);
    expect(noCli.stderr).toContain("az provider register --namespace Microsoft.App");
  });
});

describe("the postdeploy hook", () => {
  const outputs = {
    AZURE_ENV_NAME: "mailhook-prod",
    AZURE_SUBSCRIPTION_ID: "00000000-0000-0000-0000-00000000000a",
    AZURE_RESOURCE_GROUP: "rg-mailhook-prod",
    AZURE_FUNCTION_APP_NAME: "func-mailhook-abc",
    MAILHOOK_URL: "https://func-mailhook-abc.azurewebsites.net/api",
    MAILHOOK_REFRESH_POLL_SECONDS: "0",
  };
  const references =
    "https://management.azure.com/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/rg-mailhook-prod/providers/Microsoft.Web/sites/func-mailhook-abc/config/configreferences/appsettings";

  it("refreshes the Key Vault references until all resolve, restarts the app and prints the end-to-end check", async () => {
    const result = await hook(
      "postdeploy.sh",
      { ...outputs, MAILHOOK_CLIENTS: clients("graph") },
      { unresolvedGets: 2 },
    );
    expect(result.code).toBe(0);
    const refresh = `rest --method post --url ${references}/refresh?api-version=2022-03-01 --output none`;
    const status = `rest --method get --url ${references}?api-version=2022-03-01 --query value[?properties.status!='Resolved'].[name, properties.status] --output tsv`;
    expect(result.calls).toEqual([
      refresh,
      status,
      refresh,
      status,
      refresh,
      status,
      "functionapp restart --name func-mailhook-abc --resource-group rg-mailhook-prod --subscription 00000000-0000-0000-0000-00000000000a",
    ]);
    expect(result.stdout).toContain(
      "Waiting for Key Vault references to resolve (1/20): MAILHOOK_CLIENTS:AccessToKeyVaultDenied",
    );
    expect(result.stdout).toContain("npx mailhook doctor --env-file .azure/mailhook-prod/.env");
    expect(result.stdout).toMatch(
      /MAILHOOK_URL=https:\/\/func-mailhook-abc\.azurewebsites\.net\/api .*npx mailhook send .* --wait/,
    );
    expect(result.stdout).not.toContain("port 25");
  });

  it("fails, naming the setting, when a reference never resolves", async () => {
    const result = await hook(
      "postdeploy.sh",
      { ...outputs, MAILHOOK_REFRESH_ATTEMPTS: "3" },
      { unresolvedGets: 100 },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("MAILHOOK_CLIENTS\tAccessToKeyVaultDenied");
    expect(result.calls.filter((c) => c.startsWith("rest --method get"))).toHaveLength(3);
    expect(result.calls.some((c) => c.startsWith("functionapp restart"))).toBe(false);
  });

  it("prints the port 25 warning for direct and relay, and the manual refresh without the Azure CLI", async () => {
    const result = await hook("postdeploy.sh", { ...outputs, MAILHOOK_CLIENTS: clients("direct") });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `az rest --method post --url "${references}/refresh?api-version=2022-03-01"`,
    );
    expect(result.stdout).toMatch(/TCP port 25, which Azure blocks for most subscription\ntypes/);
  });

  it("asks for azd provision when the deployment's outputs are missing", async () => {
    const { AZURE_RESOURCE_GROUP: _missing, ...rest } = outputs;
    const result = await hook("postdeploy.sh", rest, {});
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "AZURE_RESOURCE_GROUP is not in the azd environment; run azd provision first.",
    );
    expect(result.calls).toEqual([]);
  });
});

describe("azure.yaml's hooks and the PowerShell twins (read, not run)", () => {
  it("names an existing script for each platform", async () => {
    const azureYaml = await readFile(join(projectRoot(), "azure.yaml"), "utf8");
    for (const name of ["preprovision", "postdeploy"]) {
      expect(azureYaml).toContain(`    posix:\n      shell: sh\n      run: infra/hooks/${name}.sh\n`);
      expect(azureYaml).toContain(`    windows:\n      shell: pwsh\n      run: infra/hooks/${name}.ps1\n`);
    }
  });

  it("call the same Azure operations and say the same about port 25", async () => {
    for (const name of ["preprovision", "postdeploy"]) {
      const posix = await readFile(join(hooks, `${name}.sh`), "utf8");
      const windows = await readFile(join(hooks, `${name}.ps1`), "utf8");
      const operations = (text: string) =>
        [
          ...text.matchAll(
            /az (provider (?:show|register)|rest --method (?:post|get)|functionapp restart)|api-version=[\d-]+|configreferences\/appsettings(?:\/refresh)?|Microsoft\.App|MAILHOOK_[A-Z_]+|AZURE_[A-Z_]+/g,
          ),
        ]
          .map((m) => m[0])
          .filter((v, i, all) => all.indexOf(v) === i)
          .sort();
      expect(operations(windows), name).toEqual(operations(posix));
      const port25 = (text: string) =>
        text.includes("Azure blocks") && text.includes("troubleshoot-outbound-smtp-connectivity");
      expect(port25(windows), name).toBe(port25(posix));
    }
  });
});
