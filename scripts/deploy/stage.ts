import { join } from "node:path";
import { parseArgs } from "node:util";
import { projectRoot } from "../../dev/settings.js";
import { defaultDeployFolder, folderSize, megabytes, stageDeployFolder } from "./folder.js";

/**
 * `npm run stage` (azd runs it before packaging; CI runs it too): builds the deploy folder that azure.yaml's
 * `dist:` names, with production dependencies only, and prints its size. `--out dir` stages elsewhere.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const root = projectRoot();
  const out = values.out ?? join(root, defaultDeployFolder);
  await stageDeployFolder(root, out, { install: true, log: (line) => process.stdout.write(`${line}\n`) });
  const size = await folderSize(out);
  const parts = Object.entries(size.byEntry)
    .sort(([, a], [, b]) => b - a)
    .filter(([, bytes]) => bytes >= 1000)
    .map(([name, bytes]) => `${name} ${megabytes(bytes)}`);
  process.stdout.write(
    `deploy folder ${out}: ${megabytes(size.bytes)} in ${size.files} files (${parts.join(", ")})\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`stage: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
});
