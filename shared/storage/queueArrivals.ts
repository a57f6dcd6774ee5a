/**
 * News, inside one process, of the messages it put on a queue and when each becomes visible: a queue poller
 * in the same process (the local host's trigger) wakes for them instead of waiting out its idle back-off.
 * Storage queues push nothing, so a poller learns of other processes' messages only by polling.
 */
export class QueueArrivals {
  private readonly listeners = new Map<string, Set<(visibleAtMs: number) => void>>();

  /** Says that a message put on `queue` becomes visible at `visibleAtMs` (epoch ms). */
  announce(queue: string, visibleAtMs: number): void {
    for (const listener of this.listeners.get(queue) ?? []) listener(visibleAtMs);
  }

  /** Hears of `queue`'s messages until the returned function is called. */
  subscribe(queue: string, listener: (visibleAtMs: number) => void): () => void {
    const set = this.listeners.get(queue) ?? new Set();
    set.add(listener);
    this.listeners.set(queue, set);
    return () => set.delete(listener);
  }
}
