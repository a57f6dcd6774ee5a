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

export function withFields(log: Logger, fields: Record<string, unknown>): Logger {
  return {
    info: (message, more) => log.info(message, { ...fields, ...more }),
    warn: (message, more) => log.warn(message, { ...fields, ...more }),
    error: (message, more) => log.error(message, { ...fields, ...more }),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
