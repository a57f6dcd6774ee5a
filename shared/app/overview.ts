import type { Client } from "../domain/client.js";
import type { CountedStatus } from "../storage/ports.js";
import { visibleClients } from "./scope.js";
import type { Services } from "./services.js";

const hourMs = 3600_000;

export interface Overview {
  /** The last 24 hours, oldest first, the running hour last. */
  hours: ({ startMs: number } & Record<CountedStatus, number>)[];
  /** Messages in the outbound queue now; for operators (the queue is every client's). */
  backlog?: number;
}

/**
 * Sent, failed and deferred per hour over the last 24 hours for the clients `caller` sees, from the hourly
 * counters (two partition reads), and for an operator the backlog now, from the queue's own message count.
 */
export async function overview(
  caller: Client,
  services: Pick<Services, "activity" | "queue" | "clock" | "config">,
): Promise<Overview> {
  const thisHour = Math.floor(services.clock.now().getTime() / hourMs) * hourMs;
  const from = thisHour - 23 * hourMs;
  const scope = new Set(visibleClients(caller, services.config.clients).map((c) => c.id));
  const [counted, backlog] = await Promise.all([
    services.activity.read(new Date(from), new Date(thisHour + hourMs)),
    caller.operator ? services.queue.approximateCount() : Promise.resolve(undefined),
  ]);
  const hours = Array.from({ length: 24 }, (_, i) => ({
    startMs: from + i * hourMs,
    sent: 0,
    failed: 0,
    deferred: 0,
  }));
  for (const hour of counted) {
    const slot = hours[(hour.hourStartMs - from) / hourMs];
    if (!slot || !scope.has(hour.clientId)) continue;
    slot.sent += hour.counts.sent;
    slot.failed += hour.counts.failed;
    slot.deferred += hour.counts.deferred;
  }
  return { hours, ...(backlog !== undefined ? { backlog } : {}) };
}
