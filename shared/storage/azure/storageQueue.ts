import type { QueueClient } from "@azure/storage-queue";
import type { OutboundQueue } from "../ports.js";
import type { QueueArrivals } from "../queueArrivals.js";

// Queue visibility timeouts are capped at 7 days; longer waits re-enqueue (chained) on arrival.
const maxVisibilitySeconds = 7 * 24 * 3600;

export class AzureOutboundQueue implements OutboundQueue {
  constructor(
    private readonly queue: QueueClient,
    /** Told of every message sent, for a poller in this process. */
    private readonly arrivals?: QueueArrivals,
  ) {}

  async send(text: string, options: { delayMs?: number } = {}): Promise<void> {
    const delaySeconds = Math.min(
      Math.max(Math.ceil((options.delayMs ?? 0) / 1000), 0),
      maxVisibilitySeconds,
    );
    await this.queue.sendMessage(text, {
      visibilityTimeout: delaySeconds,
      messageTimeToLive: -1, // never expire: an accepted message is never silently dropped
    });
    this.arrivals?.announce(this.queue.name, Date.now() + delaySeconds * 1000);
  }

  /** The queue's approximate message count, invisible (delayed, leased) messages included: one request. */
  async approximateCount(): Promise<number> {
    return (await this.queue.getProperties()).approximateMessagesCount ?? 0;
  }
}
