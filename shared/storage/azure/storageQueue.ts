import type { QueueClient } from "@azure/storage-queue";
import type { OutboundQueue } from "../ports.js";

// Queue visibility timeouts are capped at 7 days; longer waits re-enqueue (chained) on arrival.
const maxVisibilitySeconds = 7 * 24 * 3600;

export class AzureOutboundQueue implements OutboundQueue {
  constructor(private readonly queue: QueueClient) {}

  async send(text: string, options: { delayMs?: number } = {}): Promise<void> {
    const delaySeconds = Math.ceil((options.delayMs ?? 0) / 1000);
    await this.queue.sendMessage(text, {
      visibilityTimeout: Math.min(Math.max(delaySeconds, 0), maxVisibilitySeconds),
      messageTimeToLive: -1, // never expire: an accepted message is never silently dropped
    });
  }

  /** The queue's approximate message count, invisible (delayed, leased) messages included: one request. */
  async approximateCount(): Promise<number> {
    return (await this.queue.getProperties()).approximateMessagesCount ?? 0;
  }
}
