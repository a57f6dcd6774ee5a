/**
 * Failed authentications per source address in a sliding window, in this instance's memory: a brake on key
 * guessing (keys have 256 bits, so this is defence in depth, not the defence). Bounded in memory.
 */
export class AuthFailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures = 20,
    private readonly windowMs = 60_000,
    private readonly maxSources = 10_000,
  ) {}

  /** How long `source` must wait (ms) before its next attempt counts, without recording one; 0 when it need not. */
  waitMs(source: string, nowMs: number): number {
    const recent = (this.failures.get(source) ?? []).filter((at) => nowMs - at < this.windowMs);
    if (recent.length < this.maxFailures) return 0;
    const first = recent[recent.length - this.maxFailures] ?? nowMs;
    return Math.max(1, first + this.windowMs - nowMs);
  }

  /** Records one failure; returns how long the source must wait (ms) once it is over the limit, else 0. */
  fail(source: string, nowMs: number): number {
    const recent = (this.failures.get(source) ?? []).filter((at) => nowMs - at < this.windowMs);
    recent.push(nowMs);
    this.failures.delete(source); // re-insert: Map order is the eviction order (least recently failed first)
    this.failures.set(source, recent.slice(-this.maxFailures - 1));
    if (this.failures.size > this.maxSources) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    if (recent.length <= this.maxFailures) return 0;
    const first = recent[recent.length - this.maxFailures - 1] ?? nowMs;
    return Math.max(1, first + this.windowMs - nowMs);
  }
}

/** The caller's address: the first X-Forwarded-For hop (set by the Functions front end, and by the local host). */
export function sourceOf(headers: Headers): string {
  const first = headers.get("x-forwarded-for")?.split(",")[0]?.trim() ?? "";
  // Azure's front end may append the client's port to an IPv4 address ("203.0.113.7:50312").
  return first.replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, "$1") || "unknown";
}
