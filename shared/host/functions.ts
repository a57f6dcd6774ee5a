import { deliverWebhook } from "../app/deliverWebhook.js";
import { dispatchMessage } from "../app/dispatchMessage.js";
import { failMessage } from "../app/failMessage.js";
import { purgeExpired } from "../app/purgeExpired.js";
import type { Logger } from "../log.js";
import type { StorageNames } from "../storage/azure/account.js";
import type { Composed } from "./compose.js";

/** What the queue trigger says about the message it hands over (Functions' trigger metadata). */
export interface QueueDelivery {
  dequeueCount?: number;
  /** The queue message's id: the same on every delivery of that message. */
  queueMessageId?: string;
}

/** A queue-triggered function: which queue it reads and what it does with one message. */
export interface QueueFunction {
  name: string;
  queue: keyof Pick<StorageNames, "queue" | "poisonQueue" | "webhookQueue">;
  run(item: unknown, delivery: QueueDelivery, composed: Composed, log: Logger): Promise<void>;
}

/** A timer-triggered function (NCRONTAB schedule, as the Functions timer trigger takes it). */
export interface TimerFunction {
  name: string;
  schedule: string;
  run(composed: Composed, log: Logger): Promise<unknown>;
}

/**
 * Every non-HTTP function, declared once: `functions/<name>.ts` registers each with the Functions host and
 * the local host runs the same table (HTTP operations are in `shared/api/routes.ts`).
 */
export const queueFunctions: readonly QueueFunction[] = [
  {
    name: "dispatchMessage",
    queue: "queue",
    run: (item, delivery, composed, log) => dispatchMessage(item, composed.dispatchDeps(log), delivery),
  },
  {
    name: "failMessage",
    queue: "poisonQueue",
    run: (item, delivery, composed, log) =>
      failMessage(item, delivery.dequeueCount, composed.dispatchDeps(log)),
  },
  {
    name: "deliverWebhook",
    queue: "webhookQueue",
    run: (item, _delivery, composed, log) => deliverWebhook(item, composed.webhookDeps(log)),
  },
];

export const timerFunctions: readonly TimerFunction[] = [
  {
    // Daily at 03:17 UTC: deletes what is past its retention (STATUS_RETENTION_DAYS, FAILED_MESSAGE_RETENTION_DAYS).
    name: "purgeExpired",
    schedule: "0 17 3 * * *",
    run: (composed, log) => purgeExpired({ ...composed.services, log }),
  },
];

export function functionNamed<T extends { name: string }>(table: readonly T[], name: string): T {
  const found = table.find((f) => f.name === name);
  if (!found) throw new Error(`no function named ${name} in shared/host/functions.ts`);
  return found;
}
