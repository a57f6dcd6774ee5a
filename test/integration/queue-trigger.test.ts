import { QueueClient } from "@azure/storage-queue";
import { afterAll, beforeAll, describe, it } from "vitest";
import type { QueueSettings } from "../../dev/hostSettings.js";
import { LocalQueueTrigger } from "../../dev/queueTrigger.js";
import { silentLogger } from "../../shared/log.js";
import { AzureOutboundQueue } from "../../shared/storage/azure/storageQueue.js";
import { QueueArrivals } from "../../shared/storage/queueArrivals.js";
import { type CountingProxy, startCountingProxy } from "../support/countingProxy.js";
import { storageConnection, uniqueStorageNames } from "../support/env.js";

// The local host's queue trigger against Azurite behind the counting proxy: when it polls, and how often.
let proxy: CountingProxy;
const started: LocalQueueTrigger[] = [];

/** The shared Azurite's ports, from the connection string the test run was given. */
function azuritePorts() {
  const port = (service: string) =>
    Number(new RegExp(`${service}Endpoint=http://127\\.0\\.0\\.1:(\\d+)`).exec(storageConnection())?.[1]);
  return { blob: port("Blob"), queue: port("Queue"), table: port("Table") };
}

beforeAll(async () => {
  proxy = await startCountingProxy({ ports: azuritePorts() });
});
afterAll(async () => {
  await Promise.all(started.map((t) => t.stop()));
  await proxy?.stop();
});

const settings = (maxPollingInterval: number): QueueSettings => ({
  batchSize: 8,
  newBatchThreshold: 4,
  maxDequeueCount: 5,
  visibilityTimeout: 1000,
  maxPollingInterval,
  messageEncoding: "base64",
});

/** A trigger over a fresh queue that notes when each message reached its handler. */
async function startTrigger(maxPollingIntervalMs: number, options: { quietCeilingMs?: number } = {}) {
  const names = uniqueStorageNames();
  const queue = new QueueClient(proxy.connectionString, names.queue);
  const poison = new QueueClient(proxy.connectionString, names.poisonQueue);
  await queue.create();
  const arrivals = new QueueArrivals();
  const handled = new Map<string, number>();
  const trigger = new LocalQueueTrigger(
    queue,
    poison,
    settings(maxPollingIntervalMs),
    async (item) => {
      handled.set(String((item as { n?: unknown }).n), Date.now());
    },
    silentLogger,
    { arrivals, ...options },
  );
  trigger.start();
  started.push(trigger);
  const polls = () =>
    proxy.requests().filter((r) => r.resource === names.queue && r.operation === "receive").length;
  return {
    trigger,
    handled,
    polls,
    /** Enqueues as the application does (this process's queue adapter: the trigger hears of it). */
    ours: new AzureOutboundQueue(queue, arrivals),
    /** Enqueues as another process would: the trigger only finds it by polling. */
    foreign: (n: number, delaySeconds = 0) =>
      queue.sendMessage(Buffer.from(JSON.stringify({ n })).toString("base64"), {
        visibilityTimeout: delaySeconds,
      }),
  };
}

const body = (n: number) => Buffer.from(JSON.stringify({ n })).toString("base64");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for message `n` to be handled, up to `limitMs` (then the test fails on the missing entry). */
async function handledBy(handled: Map<string, number>, n: number, limitMs: number) {
  for (const start = Date.now(); Date.now() - start < limitMs && !handled.has(String(n)); ) await sleep(50);
  return handled.get(String(n));
}

// Each test has a queue of its own and mostly waits: they run side by side.
describe.concurrent("the local queue trigger's polling", () => {
  it("wakes for a booked message when it becomes visible, however far its idle back-off has gone", async ({
    expect,
  }) => {
    // Back-off up to 60 s: idle for 7 s, its next poll is more than 5 s away (100 ms doubling: 6.3 s, then 12.7 s).
    const t = await startTrigger(60_000);
    await sleep(7000);
    const sentAt = Date.now();
    await t.ours.send(body(1), { delayMs: 1000 });
    // Visible after 1 s; the back-off alone would poll at about 12.7 s, 5.7 s after the send.
    const at = await handledBy(t.handled, 1, 4000);
    expect(at).toBeDefined();
    expect((at ?? 0) - sentAt).toBeLessThan(4000);
  }, 20_000);

  it("handles a message this process enqueues at once after a quiet spell", async ({ expect }) => {
    const t = await startTrigger(60_000);
    await sleep(7000);
    const sentAt = Date.now();
    await t.ours.send(body(2));
    const at = await handledBy(t.handled, 2, 4000);
    expect((at ?? Number.POSITIVE_INFINITY) - sentAt).toBeLessThan(4000);
  }, 20_000);

  it("starts its back-off again from 100 ms after it finds a message", async ({ expect }) => {
    const t = await startTrigger(60_000);
    await sleep(7000);
    // Found by the back-off's poll at about 12.7 s (another process's message, nobody announced it).
    await t.foreign(3);
    expect(await handledBy(t.handled, 3, 10_000)).toBeDefined();
    // Right after, polling is quick again: a second such message is found within a few polls, not 25 s later.
    await sleep(300);
    const sentAt = Date.now();
    await t.foreign(4);
    const at = await handledBy(t.handled, 4, 4000);
    expect((at ?? Number.POSITIVE_INFINITY) - sentAt).toBeLessThan(4000);
  }, 30_000);

  it("backs off to its quiet ceiling on an empty queue, but not while another process's booked message waits", async ({
    expect,
  }) => {
    const quiet = await startTrigger(200, { quietCeilingMs: 3000 });
    const busy = await startTrigger(200, { quietCeilingMs: 3000 });
    // Booked by another process: invisible for 4 s, unknown to the trigger; the queue's count says it is there.
    await busy.foreign(5, 4);
    const from = { quiet: quiet.polls(), busy: busy.polls() };
    await sleep(8000);
    const polled = { quiet: quiet.polls() - from.quiet, busy: busy.polls() - from.busy };
    // 200 ms apart at most, 8 s: about 40 polls; at the quiet ceiling, about 5.
    expect(polled.quiet).toBeLessThan(12);
    // The booked message was found within the runtime's interval of becoming visible, and polling stayed quick.
    expect(busy.handled.has("5")).toBe(true);
    expect(polled.busy).toBeGreaterThan(polled.quiet);
  }, 20_000);
});
