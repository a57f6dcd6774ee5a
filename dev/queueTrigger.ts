import type { DequeuedMessageItem, QueueClient } from "@azure/storage-queue";
import type { Logger } from "../shared/log.js";
import type { QueueSettings } from "./hostSettings.js";

export type QueueHandler = (
  item: unknown,
  delivery: { dequeueCount: number; queueMessageId: string },
) => Promise<void>;

// A fetched message stays invisible while its function runs: the Functions host takes 10 minutes and renews;
// the local host takes 30 s and renews every 10 s, so a killed host's messages come back within 30 s.
const leaseSeconds = 30;
const renewEveryMs = 10_000;

/**
 * Polls a queue with the semantics of the Azure Functions queue trigger: base64 JSON decoded before the
 * handler, a batch fetched when in-flight work drops to `newBatchThreshold`, polling that backs off to
 * `maxPollingInterval`, a failed message made visible again after `visibilityTimeout`, and moved to
 * `<queue>-poison` once its dequeue count reaches `maxDequeueCount`.
 */
export class LocalQueueTrigger {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private wake: (() => void) | undefined;

  constructor(
    private readonly queue: QueueClient,
    private readonly poison: QueueClient,
    private readonly settings: QueueSettings,
    private readonly handler: QueueHandler,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.poll();
  }

  /** Stops fetching and waits for the messages in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await Promise.allSettled(this.inFlight);
  }

  private async poll(): Promise<void> {
    let idleMs = 100;
    while (this.running) {
      if (this.inFlight.size > this.settings.newBatchThreshold) {
        await Promise.race(this.inFlight);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        const response = await this.queue.receiveMessages({
          numberOfMessages: Math.min(32, this.settings.batchSize),
          visibilityTimeout: leaseSeconds,
        });
        messages = response.receivedMessageItems;
      } catch (error) {
        this.log.warn("queue poll failed", { queue: this.queue.name, error: String(error) });
      }
      for (const message of messages) {
        const work = this.process(message).finally(() => this.inFlight.delete(work));
        this.inFlight.add(work);
      }
      if (messages.length > 0) {
        idleMs = 100;
      } else {
        await this.sleep(idleMs);
        idleMs = Math.min(idleMs * 2, this.settings.maxPollingInterval);
      }
    }
  }

  private async process(message: DequeuedMessageItem): Promise<void> {
    const { messageId, dequeueCount } = message;
    // Each renewal gives a new pop receipt; the latest one settles the message.
    let popReceipt = message.popReceipt;
    const renewal = setInterval(() => {
      this.queue
        .updateMessage(messageId, popReceipt, undefined, leaseSeconds)
        .then((r) => {
          if (r.popReceipt) popReceipt = r.popReceipt;
        })
        .catch(() => {});
    }, renewEveryMs);
    const settle = async (failed: boolean) => {
      clearInterval(renewal);
      if (!failed) await this.queue.deleteMessage(messageId, popReceipt);
      else if (dequeueCount >= this.settings.maxDequeueCount)
        await this.moveToPoison({ ...message, popReceipt });
      else
        await this.queue.updateMessage(
          messageId,
          popReceipt,
          undefined,
          this.settings.visibilityTimeout / 1000,
        );
    };
    try {
      // A message that already used up its budget (a crash mid-run, say) goes straight to poison.
      if (dequeueCount > this.settings.maxDequeueCount) {
        await settle(true);
        return;
      }
      let failed = false;
      try {
        await this.handler(decode(message.messageText), { dequeueCount, queueMessageId: messageId });
      } catch (error) {
        failed = true;
        this.log.warn("queue function failed", {
          queue: this.queue.name,
          queueMessageId: messageId,
          dequeueCount,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      await settle(failed);
    } catch (error) {
      // Storage trouble: the lease runs out and the message comes back, as under the Functions host.
      clearInterval(renewal);
      this.log.error("queue bookkeeping failed", {
        queue: this.queue.name,
        queueMessageId: messageId,
        error: String(error),
      });
    }
  }

  private async moveToPoison(message: DequeuedMessageItem): Promise<void> {
    await this.poison.createIfNotExists();
    await this.poison.sendMessage(message.messageText, { messageTimeToLive: -1 });
    await this.queue.deleteMessage(message.messageId, message.popReceipt);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** What the Functions host hands a queue function with base64 encoding: the decoded JSON, or the text. */
function decode(messageText: string): unknown {
  const text = Buffer.from(messageText, "base64").toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
