import type { DequeuedMessageItem, QueueClient } from "@azure/storage-queue";
import type { Logger } from "../shared/log.js";
import type { QueueArrivals } from "../shared/storage/queueArrivals.js";
import type { QueueSettings } from "./hostSettings.js";

export type QueueHandler = (
  item: unknown,
  delivery: { dequeueCount: number; queueMessageId: string },
) => Promise<void>;

// A fetched message stays invisible while its function runs: the Functions host takes 10 minutes and renews;
// the local host takes 30 s and renews every 10 s, so a killed host's messages come back within 30 s.
const leaseSeconds = 30;
const renewEveryMs = 10_000;
// The Functions runtime's shortest wait between polls, where its back-off starts.
// https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#polling-algorithm
const minIdleMs = 100;
/** How long a trigger polling an empty queue waits at most between polls (see `TriggerOptions`). */
export const quietCeilingMs = 10_000;
// Messages a trigger expects to become visible, at most; later ones are found by polling.
const maxExpected = 100_000;

export interface TriggerOptions {
  /** Messages this process puts on the queue: each wakes the trigger when it becomes visible. */
  arrivals?: QueueArrivals;
  /**
   * The longest wait between polls once the queue holds nothing at all (not even invisible messages) beyond
   * what this process expects: then only a new message can appear, and this process's own wake the trigger
   * at once. Default `quietCeilingMs`; never below `maxPollingInterval`; without `arrivals`, not beyond it.
   */
  quietCeilingMs?: number;
}

/**
 * Polls a queue with the semantics of the Azure Functions queue trigger: base64 JSON decoded before the
 * handler, a batch fetched when in-flight work drops to `newBatchThreshold`, polling that backs off to
 * `maxPollingInterval`, a failed message made visible again after `visibilityTimeout`, and moved to
 * `<queue>-poison` once its dequeue count reaches `maxDequeueCount`.
 *
 * Beyond the runtime: it hears of the messages this process puts on the queue (`TriggerOptions.arrivals`), and
 * polls when each becomes visible (a booked wake never waits out the back-off); and once a look at the queue's
 * count finds nothing it does not expect, it backs off further, to `quietCeilingMs`.
 */
export class LocalQueueTrigger {
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private wake: (() => void) | undefined;
  private rearm: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Epoch ms at which messages this process put on the queue become visible, ascending. */
  private readonly expected: number[] = [];
  private readonly quietMs: number;

  constructor(
    private readonly queue: QueueClient,
    private readonly poison: QueueClient,
    private readonly settings: QueueSettings,
    private readonly handler: QueueHandler,
    private readonly log: Logger,
    private readonly options: TriggerOptions = {},
  ) {
    // Only a trigger that hears of its own process's messages may wait longer than the runtime would.
    this.quietMs = options.arrivals
      ? Math.max(options.quietCeilingMs ?? quietCeilingMs, settings.maxPollingInterval)
      : settings.maxPollingInterval;
  }

  start(): void {
    this.running = true;
    this.unsubscribe = this.options.arrivals?.subscribe(this.queue.name, (at) => this.expect(at));
    this.loop = this.poll();
  }

  /** Stops fetching and waits for the messages in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
    await Promise.allSettled(this.inFlight);
  }

  /** A message becomes visible at `visibleAtMs`: poll then, however far the back-off has gone. */
  private expect(visibleAtMs: number): void {
    // Kept in order (binary insertion), so the next one is the first.
    let low = 0;
    let high = this.expected.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.expected[mid] ?? 0) <= visibleAtMs) low = mid + 1;
      else high = mid;
    }
    if (low >= maxExpected) return;
    this.expected.splice(low, 0, visibleAtMs);
    if (this.expected.length > maxExpected) this.expected.pop();
    this.rearm?.();
  }

  private async poll(): Promise<void> {
    let idleMs = minIdleMs;
    // While the queue may hold messages nobody here expects, the back-off stops at maxPollingInterval.
    let quiet = false;
    let lookedAtMs = 0;
    while (this.running) {
      if (this.inFlight.size > this.settings.newBatchThreshold) {
        await Promise.race(this.inFlight);
        continue;
      }
      // What becomes visible by now is fetched by this poll.
      const now = Date.now();
      while ((this.expected[0] ?? Number.POSITIVE_INFINITY) <= now) this.expected.shift();
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
        idleMs = minIdleMs;
        quiet = false;
        continue;
      }
      if (idleMs >= this.settings.maxPollingInterval && !quiet && Date.now() - lookedAtMs >= this.quietMs) {
        lookedAtMs = Date.now();
        quiet = await this.holdsOnlyExpected();
      }
      await this.sleep(idleMs);
      idleMs = Math.min(idleMs * 2, quiet ? this.quietMs : this.settings.maxPollingInterval);
    }
  }

  /**
   * Whether the queue holds no message beyond those this process expects or is running: its approximate
   * count (one request) includes invisible messages, those booked by another process too.
   */
  private async holdsOnlyExpected(): Promise<boolean> {
    try {
      const { approximateMessagesCount = 0 } = await this.queue.getProperties();
      return approximateMessagesCount <= this.expected.length + this.inFlight.size;
    } catch (error) {
      this.log.warn("queue poll failed", { queue: this.queue.name, error: String(error) });
      return false;
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
    this.options.arrivals?.announce(this.poison.name, Date.now());
    await this.queue.deleteMessage(message.messageId, message.popReceipt);
  }

  /** Waits `ms`, or until the next expected message becomes visible, whichever comes first. */
  private sleep(ms: number): Promise<void> {
    const deadlineMs = Date.now() + ms;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.rearm = undefined;
        resolve();
      };
      const arm = () => {
        clearTimeout(timer);
        const untilMs = Math.min(deadlineMs, this.expected[0] ?? Number.POSITIVE_INFINITY);
        timer = setTimeout(done, Math.max(0, untilMs - Date.now()));
      };
      this.wake = done;
      this.rearm = arm;
      arm();
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
