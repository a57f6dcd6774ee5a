import { readFileSync } from "node:fs";

/**
 * Reads an API key named by reference: `env:NAME` (an environment variable) or `file:/path` (the file's first
 * line). Never the key itself: a command line is visible to every user of the machine (`ps`) and stays in
 * shell histories.
 */
export function resolveKeyRef(ref: string, env: Record<string, string | undefined>): string {
  const [kind, ...rest] = ref.split(":");
  const target = rest.join(":");
  let key: string | undefined;
  if (kind === "env" && target) {
    key = env[target]?.trim();
    if (!key) throw new Error(`environment variable ${target} is not set or empty`);
  } else if (kind === "file" && target) {
    try {
      key = readFileSync(target, "utf8").split(/\r?\n/)[0]?.trim();
    } catch (error) {
      throw new Error(`cannot read ${target} (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
    if (!key) throw new Error(`${target} holds no key`);
  } else {
    throw new Error(
      "a key is given as env:NAME (an environment variable) or file:/path, never on the command line",
    );
  }
  return key;
}
