import { execFileSync } from "node:child_process";
import { cp, lstat, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";

/**
 * The deploy folder azd uploads (azure.yaml `dist:`): the built functions, host.json, package.json and
 * package-lock.json, and production dependencies only. Remote build stays off: the package runs as it is, so
 * nothing on the server needs the sources or the development tools. azd zips a function service's `dist`
 * folder as it is and keeps its node_modules when `remoteBuild: false` (azure-dev source,
 * cli/azd/pkg/project/project_utils.go, createDeployableZip; azure.yaml schema, services.*.remoteBuild).
 */
export const defaultDeployFolder = ".deploy/api";

/** Folders of `dist/` that are not part of the Function App: the test suite, benchmarks, local host, CLI, scripts. */
export const excludedDistFolders = ["bench", "cli", "dev", "scripts", "test"];

/** The files copied from the project root besides `dist/`. */
export const rootFiles = ["host.json", "package.json", "package-lock.json"];

// Marks a folder this script made, so it never empties a folder it did not make.
const marker = ".mailhook-deploy-folder";

/** Copies the runtime part of the project into `out` (emptied first); installs production dependencies unless told not to. */
export async function stageDeployFolder(
  projectRoot: string,
  out: string,
  options: { install: boolean; log?: (line: string) => void },
): Promise<void> {
  const target = resolve(out);
  if (resolve(projectRoot).startsWith(`${target}${sep}`) || resolve(projectRoot) === target)
    throw new Error(`refusing to stage into ${target}: it holds the project`);
  await clearOwnFolder(target);
  await mkdir(target, { recursive: true });
  await writeFile(join(target, marker), "made by scripts/deploy; emptied on every run\n");
  for (const file of rootFiles) await cp(join(projectRoot, file), join(target, file));
  const dist = join(projectRoot, "dist");
  if (!(await exists(join(dist, "functions"))))
    throw new Error(`${dist}/functions is missing: run npm run build first`);
  await cp(dist, join(target, "dist"), {
    recursive: true,
    filter: (source) => {
      const path = relative(dist, source);
      const top = path.split(sep)[0] ?? "";
      // Source maps point at TypeScript that is not shipped; declarations are for compilers.
      return !excludedDistFolders.includes(top) && !path.endsWith(".map") && !path.endsWith(".d.ts");
    },
  });
  if (options.install) {
    options.log?.("installing production dependencies (npm ci --omit=dev)");
    // npm ci installs exactly the lockfile; --omit=dev leaves the development tools out.
    execFileSync(npmCommand(), ["ci", "--omit=dev", "--no-audit", "--no-fund"], {
      cwd: target,
      stdio: ["ignore", "inherit", "inherit"],
      shell: process.platform === "win32",
    });
  }
}

async function clearOwnFolder(target: string): Promise<void> {
  if (!(await exists(target))) return;
  const entries = await readdir(target);
  if (entries.length > 0 && !entries.includes(marker))
    throw new Error(`refusing to empty ${target}: it was not made by this script (no ${marker})`);
  await rm(target, { recursive: true, force: true });
}

const npmCommand = () => (process.platform === "win32" ? "npm.cmd" : "npm");

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Bytes and files under `dir`, and the bytes under each of its top-level entries. */
export async function folderSize(
  dir: string,
): Promise<{ bytes: number; files: number; byEntry: Record<string, number> }> {
  const byEntry: Record<string, number> = {};
  let bytes = 0;
  let files = 0;
  const walk = async (path: string, top: string): Promise<void> => {
    const info = await lstat(path);
    if (info.isDirectory()) {
      for (const name of await readdir(path)) await walk(join(path, name), top || name);
      return;
    }
    bytes += info.size;
    files += 1;
    byEntry[top] = (byEntry[top] ?? 0) + info.size;
  };
  for (const name of await readdir(dir)) await walk(join(dir, name), name);
  return { bytes, files, byEntry };
}

/** `58.3 MB` (decimal megabytes, as the portal and zip tools show them). */
export function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** Directories named node_modules above `dir`: Node would resolve a missing package from them. */
export async function nodeModulesAbove(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (let parent = dirname(resolve(dir)); ; parent = dirname(parent)) {
    if (await exists(join(parent, "node_modules"))) found.push(join(parent, "node_modules"));
    if (dirname(parent) === parent) return found;
  }
}
