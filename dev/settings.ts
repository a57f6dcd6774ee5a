import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { defaultMessageBytes } from "../shared/config.js";

/**
 * Settings of the local host only (docs/configuration.md): PORT, MAILHOOK_DATA_DIR, MAILHOOK_DEV_KEY,
 * MAILHOOK_LOG (`json` or `text`; unset, the log is text on a terminal and JSON otherwise), and
 * MAILHOOK_EDGE_PORT (the local SMTP edge; absent means 2525 if free, 0 means none).
 */
const localSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(7071),
  MAILHOOK_DATA_DIR: z.string().min(1).default(".mailhook"),
  MAILHOOK_DEV_KEY: z.string().min(16, "must be at least 16 characters").optional(),
  MAILHOOK_LOG: z.enum(["json", "text"], "must be json or text").optional(),
  MAILHOOK_EDGE_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // Read here only for the SIZE the local edge advertises; the host validates it with the rest.
  MAX_MESSAGE_BYTES: z.coerce.number().int().positive().default(defaultMessageBytes),
});

/** The local edge's port when MAILHOOK_EDGE_PORT is not set. */
export const defaultEdgePort = 2525;

export function loadLocalSettings(env: Record<string, string | undefined>) {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = localSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  - ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new Error(`mailhook cannot start; fix these settings:\n${problems}`);
  }
  return { ...parsed.data, dataDir: resolve(parsed.data.MAILHOOK_DATA_DIR) };
}

/** The project's root (where package.json and host.json are), from source or from `dist/`. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "host.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("host.json not found above the local host");
    dir = parent;
  }
  return dir;
}
