/**
 * MIME header fields of a multipart part (RFC 2045, RFC 2183, RFC 7578): the header block parsed into
 * lower-cased names, and a field value with parameters (`form-data; name="file"; filename="scan.pdf"`).
 */

/** A header field value split into its value (lower-cased) and parameters (names lower-cased). */
export interface ParameterizedValue {
  value: string;
  params: Map<string, string>;
}

/** Parses a part's header block (CRLF lines, folded lines joined); undefined when a line is not `name: value`. */
export function parseHeaderBlock(block: string): Map<string, string> | undefined {
  const headers = new Map<string, string>();
  const lines = block.split("\r\n").filter((line) => line !== "");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? "";
    // RFC 5322 §2.2.3: a line starting with whitespace continues the one before.
    while (/^[ \t]/.test(lines[i + 1] ?? "")) line += ` ${(lines[++i] ?? "").trim()}`;
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) return undefined;
    // The first of a repeated field counts, as busboy and browsers do.
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * `type; a=b; c="d e"` → value and parameters. Quoted strings may hold `\\` and `\"` escapes; RFC 2231 extended
 * parameters (`filename*=UTF-8''%E2%82%AC.pdf`, continuations `name*0`, `name*1*`) are decoded and win
 * over their plain form.
 */
export function parseParameterized(field: string): ParameterizedValue {
  const semicolon = indexOutsideQuotes(field, ";");
  const value = (semicolon < 0 ? field : field.slice(0, semicolon)).trim().toLowerCase();
  const plain = new Map<string, string>();
  const extended = new Map<string, { index: number; encoded: boolean; text: string }[]>();
  let rest = semicolon < 0 ? "" : field.slice(semicolon + 1);
  while (rest.trim() !== "") {
    const end = indexOutsideQuotes(rest, ";");
    const piece = (end < 0 ? rest : rest.slice(0, end)).trim();
    rest = end < 0 ? "" : rest.slice(end + 1);
    const eq = piece.indexOf("=");
    if (eq <= 0) continue;
    const rawName = piece.slice(0, eq).trim().toLowerCase();
    const text = unquote(piece.slice(eq + 1).trim());
    const star = /^([^*]+)\*(?:(\d+)(\*)?)?$/.exec(rawName);
    if (star?.[1]) {
      // name* (one extended piece) or name*N / name*N* (continuations, the starred ones encoded).
      const pieces = extended.get(star[1]) ?? [];
      pieces.push({
        index: star[2] === undefined ? 0 : Number(star[2]),
        encoded: star[2] === undefined || star[3] === "*",
        text,
      });
      extended.set(star[1], pieces);
    } else if (!plain.has(rawName)) plain.set(rawName, text);
  }
  const params = new Map(plain);
  for (const [name, pieces] of extended) {
    const decoded = decodeExtended(pieces.sort((a, b) => a.index - b.index));
    if (decoded !== undefined) params.set(name, decoded);
  }
  return { value, params };
}

/** RFC 2231 §4: `charset'language'%XX…` in the first encoded piece; later encoded pieces are percent-encoded only. */
function decodeExtended(pieces: { encoded: boolean; text: string }[]): string | undefined {
  let charset = "utf-8";
  const bytes: number[] = [];
  for (const [i, piece] of pieces.entries()) {
    let text = piece.text;
    if (i === 0 && piece.encoded) {
      const match = /^([^']*)'[^']*'(.*)$/.exec(text);
      if (!match) return undefined;
      charset = match[1] || "utf-8";
      text = match[2] ?? "";
    }
    if (!piece.encoded) {
      bytes.push(...Buffer.from(text, "utf8"));
      continue;
    }
    for (let k = 0; k < text.length; k++) {
      const hex = text[k] === "%" ? /^[0-9a-f]{2}$/i.exec(text.slice(k + 1, k + 3))?.[0] : undefined;
      if (hex) {
        bytes.push(Number.parseInt(hex, 16));
        k += 2;
      } else bytes.push(text.charCodeAt(k) & 0xff);
    }
  }
  try {
    return new TextDecoder(charset).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

function indexOutsideQuotes(text: string, char: string): number {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === char && !quoted) return i;
  }
  return -1;
}

function unquote(text: string): string {
  if (!text.startsWith('"')) return text;
  const inner = text.endsWith('"') && text.length > 1 ? text.slice(1, -1) : text.slice(1);
  // Only \\ and \" are escapes: a Windows path ("C:\scans\a.pdf", as some devices send it) keeps its
  // backslashes, so the path is stripped later, as busboy does.
  return inner.replace(/\\([\\"])/g, "$1");
}
