import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { nodeModulesAbove } from "./folder.js";

/**
 * `node dist/scripts/deploy/checkImports.js <deploy folder>`: imports every function file of a staged deploy
 * folder, resolving packages from that folder's production dependencies only, so a library that production code
 * uses but package.json lists under devDependencies fails here instead of in Azure. Outside the Functions host,
 * @azure/functions runs in test mode and registers nothing, so importing is safe.
 */
async function main(): Promise<void> {
  const folder = resolve(process.argv[2] ?? "");
  if (!process.argv[2]) throw new Error("usage: checkImports <deploy folder>");
  // Node looks for a missing package in every node_modules above the file; one there would hide the problem.
  const above = await nodeModulesAbove(folder);
  if (above.length > 0)
    throw new Error(`stage the folder outside any node_modules tree (found ${above.join(", ")}); use --out`);
  const functionsDir = join(folder, "dist", "functions");
  const files = (await readdir(functionsDir)).filter((f) => f.endsWith(".js")).sort();
  if (files.length === 0) throw new Error(`no functions in ${functionsDir}`);
  const failed: string[] = [];
  for (const file of files) {
    try {
      await import(pathToFileURL(join(functionsDir, file)).href);
      process.stdout.write(`imported dist/functions/${file}\n`);
    } catch (error) {
      failed.push(`dist/functions/${file}: ${error instanceof Error ? error.message : error}`);
    }
  }
  if (failed.length > 0)
    throw new Error(`cannot import with production dependencies only:\n  ${failed.join("\n  ")}`);
  process.stdout.write(`${files.length} function files import with production dependencies only\n`);
}

main().catch((error) => {
  process.stderr.write(`checkImports: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
});
