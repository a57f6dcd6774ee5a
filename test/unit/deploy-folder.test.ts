import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { folderSize, nodeModulesAbove, stageDeployFolder } from "../../scripts/deploy/folder.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mailhook-stage-"));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** A built project: root files and a dist/ with the folders the deploy folder keeps and drops. */
async function project(): Promise<string> {
  const root = await mkdtemp(join(dir, "project-"));
  for (const file of ["host.json", "package.json", "package-lock.json", "README.md", "tsconfig.json"])
    await writeFile(join(root, file), "{}");
  for (const folder of ["functions", "shared/transport", "test", "bench", "dev", "cli", "scripts/deploy"]) {
    await mkdir(join(root, "dist", folder), { recursive: true });
    await writeFile(join(root, "dist", folder, "a.js"), "export {};\n");
    await writeFile(join(root, "dist", folder, "a.js.map"), "{}");
    await writeFile(join(root, "dist", folder, "a.d.ts"), "export {};\n");
  }
  // The console's built page: served by the console Function from the package.
  await mkdir(join(root, "dist", "console"), { recursive: true });
  await writeFile(join(root, "dist", "console", "index.html"), "<!doctype html>\n");
  await mkdir(join(root, "node_modules", "vitest"), { recursive: true });
  return root;
}

async function files(root: string, sub = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, sub), { withFileTypes: true })) {
    const path = sub ? `${sub}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await files(root, path)));
    else out.push(path);
  }
  return out.sort();
}

describe("the deploy folder", () => {
  it("holds the functions, shared code, the console's page and package files, nothing for development", async () => {
    const root = await project();
    const out = join(dir, "staged");
    await stageDeployFolder(root, out, { install: false });
    expect(await files(out)).toEqual([
      ".mailhook-deploy-folder",
      "dist/console/index.html",
      "dist/functions/a.js",
      "dist/shared/transport/a.js",
      "host.json",
      "package-lock.json",
      "package.json",
    ]);
    const size = await folderSize(out);
    expect(size.files).toBe(7);
    expect(Object.keys(size.byEntry).sort()).toEqual([
      ".mailhook-deploy-folder",
      "dist",
      "host.json",
      "package-lock.json",
      "package.json",
    ]);
    // Staging again replaces what it made.
    await stageDeployFolder(root, out, { install: false });
    expect((await files(out)).length).toBe(7);
  });

  it("never empties a folder it did not make, nor the project itself", async () => {
    const root = await project();
    const foreign = join(dir, "foreign");
    await mkdir(foreign);
    await writeFile(join(foreign, "keep.txt"), "mine");
    await expect(stageDeployFolder(root, foreign, { install: false })).rejects.toThrow(
      /not made by this script/,
    );
    expect(await files(foreign)).toEqual(["keep.txt"]);
    await expect(stageDeployFolder(root, root, { install: false })).rejects.toThrow(/holds the project/);
  });

  it("asks for a build first", async () => {
    const root = await project();
    await rm(join(root, "dist", "functions"), { recursive: true });
    await expect(stageDeployFolder(root, join(dir, "unbuilt"), { install: false })).rejects.toThrow(
      /npm run build/,
    );
  });

  it("finds node_modules folders above a folder, where Node would resolve a missing package", async () => {
    const root = await project();
    await mkdir(join(root, "nested", "deeper"), { recursive: true });
    expect(await nodeModulesAbove(join(root, "nested", "deeper"))).toContain(join(root, "node_modules"));
  });
});
