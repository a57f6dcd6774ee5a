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

/**
 * A network address as a limiter key: without a port (`203.0.113.7:50312`, `[2001:db8::1]:443`), and an
 * IPv4 client on a dual-stack socket (`::ffff:203.0.113.7`) as its IPv4 address.
 */
export function addressKey(address: string | undefined): string {
  const trimmed = (address ?? "").trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(trimmed)?.[1];
  const unported = bracketed ?? trimmed.replace(/^(\d+\.\d+\.\d+\.\d+):\d+$/, "$1");
  return unported.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, "$1").toLowerCase() || "unknown";
}
