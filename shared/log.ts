/** Structured logging. Fields never carry bodies, attachment bytes, keys, tokens or passwords. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

type Level = "info" | "warn" | "error";

/** A logger writing one JSON object per line through `write(level, line)`, with `base` fields on each line. */
export function jsonLogger(
  write: (level: Level, line: string) => void,
  base: Record<string, unknown> = {},
): Logger {
  const emit =
    (level: Level) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      write(level, JSON.stringify({ level, message, ...base, ...fields }));
  return { info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/**
 * A logger for a person at a terminal: one short line per event, `<ISO time> <level> <message id> <what
 * happened> key=value…`. The same fields as the JSON lines, so the same things stay out of it.
 */
export function textLogger(
  write: (level: Level, line: string) => void,
  base: Record<string, unknown> = {},
  now: () => Date = () => new Date(),
): Logger {
  const emit =
    (level: Level) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      const { messageId, ...rest } = { ...base, ...fields };
      const details = Object.entries(rest)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${textValue(value)}`);
      const id = typeof messageId === "string" ? messageId : "-";
      write(level, [now().toISOString(), level.padEnd(5), id, message, ...details].join(" "));
    };
  return { info: emit("info"), warn: emit("warn"), error: emit("error") };
}

function textValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

export function withFields(log: Logger, fields: Record<string, unknown>): Logger {
  return {
    info: (message, more) => log.info(message, { ...fields, ...more }),
    warn: (message, more) => log.warn(message, { ...fields, ...more }),
    error: (message, more) => log.error(message, { ...fields, ...more }),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
