/**
 * Reads an azd environment file (`.azure/<environment>/.env`, also what `azd env get-values` prints), so the
 * doctor checks the values a deployment was given and its outputs (MAILHOOK_URL, STATIC_OUTBOUND_IP), never
 * the Key Vault references the app settings hold. azd writes it with godotenv: `NAME=123` for whole numbers,
 * otherwise `NAME="..."` with `\`, `"`, `!`, `$` and the backtick escaped by a backslash and line breaks as
 * `\n` (github.com/joho/godotenv, Marshal; azure-dev, pkg/environment/environment.go). Unquoted and
 * single-quoted values are taken as they are.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    values[match[1]!] = value(match[2]!);
  }
  return values;
}

function value(rest: string): string {
  if (rest.startsWith('"')) {
    let out = "";
    for (let i = 1; i < rest.length; i++) {
      const ch = rest[i]!;
      if (ch === '"') return out;
      if (ch === "\\" && i + 1 < rest.length) {
        const next = rest[++i]!;
        out += next === "n" ? "\n" : next === "r" ? "\r" : next;
      } else out += ch;
    }
    return out;
  }
  if (rest.startsWith("'")) {
    const end = rest.indexOf("'", 1);
    return end < 0 ? rest.slice(1) : rest.slice(1, end);
  }
  // An unquoted value ends at a comment.
  return rest.replace(/\s+#.*$/, "").trim();
}
