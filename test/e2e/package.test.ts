import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../dev/settings.js";
import { startEdgeProcess } from "../support/edgeProcess.js";

const run = promisify(execFile);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

// What `npm pack` makes must run on a machine that has only the tarball (`npx ./mailhook-<version>.tgz edge`,
// which fetches the dependencies from the registry). The package is private, so nothing may depend on its
// own name being on a registry. It carries the lockfile as npm-shrinkwrap.json (prepack), so it installs
// exactly the tested dependency tree: here `npm ci --offline` in the unpacked package installs it from the
// npm cache that the project's own `npm ci` filled (a test never reaches the internet).
describe("the packed tarball", () => {
  let dir: string;
  let tarball: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mailhook-pack-"));
    // `npm test` has built dist/ already, and rebuilding it under the other tests' feet would break them: this
    // runs prepack's second step only (the lockfile as npm-shrinkwrap.json), and postpack's.
    const root = projectRoot();
    const shrinkwrap = join(root, "npm-shrinkwrap.json");
    await copyFile(join(root, "package-lock.json"), shrinkwrap);
    const packed = await run(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
      cwd: root,
    }).finally(() => rm(shrinkwrap, { force: true }));
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(dir, info!.filename);
    files = info!.files.map((f) => f.path);
    await run("tar", ["-xzf", tarball, "-C", dir]);
    await run(npm, ["ci", "--offline", "--no-audit", "--no-fund", "--omit=dev", "--ignore-scripts"], {
      cwd: join(dir, "package"),
    });
  }, 180_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  let files: string[] = [];

  it("holds the built CLI and what it imports, and no sources or tests", () => {
    expect(files).toContain("dist/cli/main.js");
    expect(files).toContain("npm-shrinkwrap.json");
    expect(files).toContain("dist/cli/edge/server.js");
    expect(files.some((f) => f.startsWith("dist/shared/"))).toBe(true);
    expect(
      files.filter((f) => f.endsWith(".ts") || f.startsWith("dist/test/") || f.startsWith("test/")),
    ).toEqual([]);
  });

  it("installs production dependencies only", async () => {
    const installed = await readdir(join(dir, "package", "node_modules"));
    expect(installed).toEqual(expect.arrayContaining(["smtp-server", "mailparser", "selfsigned", "zod"]));
    expect(installed).not.toContain("vitest");
    expect(installed).not.toContain("azurite");
  });

  it("runs `mailhook edge` from the installed package", async () => {
    const edge = await startEdgeProcess(
      ["--api", "https://mailhook.invalid", "--listen", "127.0.0.1:0", "--hostname", "localhost"],
      { command: [process.execPath, join(dir, "package", "dist", "cli", "main.js")] },
    );
    try {
      expect(edge.listeners).toHaveLength(1);
      expect(edge.output()).toContain("mailhook edge is running");
    } finally {
      await edge.stop();
    }
  });
});
