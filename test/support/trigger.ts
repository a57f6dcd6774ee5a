import type { QueueSettings } from "../../dev/hostSettings.js";
import { LocalQueueTrigger } from "../../dev/queueTrigger.js";
import { dispatchMessage } from "../../shared/app/dispatchMessage.js";
import type { Composed } from "../../shared/host/compose.js";
import { silentLogger } from "../../shared/log.js";

// Like host.json, but polling fast: the tests' windows are seconds long.
export const fastQueueSettings: QueueSettings = {
  batchSize: 8,
  newBatchThreshold: 4,
  maxDequeueCount: 5,
  visibilityTimeout: 1000,
  maxPollingInterval: 200,
  messageEncoding: "base64",
};

/** The local host's queue trigger running the dispatcher of one composed instance (call start/stop). */
export function triggerFor(composed: Composed): LocalQueueTrigger {
  const { storage } = composed;
  return new LocalQueueTrigger(
    storage.queueClient,
    storage.poisonQueueClient,
    fastQueueSettings,
    (item, delivery) => dispatchMessage(item, composed.dispatchDeps(silentLogger), delivery),
    silentLogger,
    // Several instances share a queue in some tests and hear only their own messages: a short quiet ceiling.
    { arrivals: storage.arrivals, quietCeilingMs: 1000 },
  );
}
