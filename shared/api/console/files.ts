import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** One file of the built console, as served. */
export interface ConsoleFile {
  body: string;
  contentType: string;
  cacheControl: string;
}

// Everything the build emits is text; anything else is not served.
const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/** `index-9gFzzcex.js`: the build names files after their content, so they can be cached for good. */
const hashed = /-[A-Za-z0-9_-]{8,}\.(js|css)$/;

/**
 * The built console (`npm run build` writes `dist/console`), found from this module's place in the package
 * (the folder holding host.json is the Function app's root, in Azure as here), read once and kept in memory:
 * a few small files.
 */
export function consoleDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "host.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("host.json not found above the console's module");
    dir = parent;
  }
  return join(dir, "dist", "console");
}

export async function loadConsoleFiles(directory: string): Promise<Map<string, ConsoleFile>> {
  const files = new Map<string, ConsoleFile>();
  const names = await readdir(directory).catch(() => [] as string[]);
  for (const name of names) {
    const contentType = contentTypes[extname(name)];
    if (!contentType) continue;
    files.set(name, {
      body: await readFile(join(directory, name), "utf8"),
      contentType,
      cacheControl: hashed.test(name) ? "public, max-age=31536000, immutable" : "no-cache",
    });
  }
  return files;
}
