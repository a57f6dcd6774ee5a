import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { projectRoot } from "../../dev/settings.js";
import { connectorFiles, serialize } from "./files.js";

/**
 * `npm run connector`: regenerates `connector/` (the Power Automate custom connector) from the route table.
 * `-- --host app.azurewebsites.net --out dir` writes a copy for one deployment instead.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { host: { type: "string" }, out: { type: "string" } } });
  const dir = values.out ?? join(projectRoot(), "connector");
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, content] of Object.entries(connectorFiles(values.host))) {
    const path = join(dir, name);
    const text = serialize(content);
    await writeFile(path, text);
    written.push(path);
    process.stdout.write(`wrote ${path} (${Buffer.byteLength(text)} bytes)\n`);
  }
  // In the repository's JSON style, so `npm run format:check` stays clean (the test compares parsed JSON).
  if (!values.out)
    execFileSync(join(projectRoot(), "node_modules", ".bin", "biome"), ["format", "--write", ...written], {
      stdio: "ignore",
    });
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
});
