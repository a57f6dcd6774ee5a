/** How the console writes numbers, sizes and times (en, with the browser's time zone). */

const numbers = new Intl.NumberFormat("en");

/** `10,000`. */
export function count(n: number): string {
  return numbers.format(n);
}

/** `1.2 MB`, `340 KB`, `12 bytes`. */
export function bytes(n: number): string {
  if (n < 1000) return `${n} byte${n === 1 ? "" : "s"}`;
  const units = ["KB", "MB", "GB"];
  let value = n / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** `14:05:09` today, else `3 Dec, 14:05`. */
export function time(iso: string, nowMs: number, timeZone?: string): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const options: Intl.DateTimeFormatOptions = { hour12: false, ...(timeZone ? { timeZone } : {}) };
  const day = (d: Date) => d.toLocaleDateString("en-GB", options);
  if (day(at) === day(new Date(nowMs)))
    return at.toLocaleTimeString("en-GB", {
      ...options,
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
  return at.toLocaleString("en-GB", {
    ...options,
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** `in 3 min`, `2 h ago`, `now`. */
export function relative(iso: string, nowMs: number): string {
  const ms = Date.parse(iso) - nowMs;
  if (Number.isNaN(ms)) return iso;
  const abs = Math.abs(ms);
  if (abs < 5_000) return "now";
  const [value, unit] =
    abs < 60_000
      ? [Math.round(abs / 1000), "s"]
      : abs < 3600_000
        ? [Math.round(abs / 60_000), "min"]
        : abs < 86_400_000
          ? [Math.round(abs / 3600_000), "h"]
          : [Math.round(abs / 86_400_000), "d"];
  return ms > 0 ? `in ${value} ${unit}` : `${value} ${unit} ago`;
}
