import { z } from "zod";
import type { Client } from "../domain/client.js";
import { isFinal, publicView, type StatusRecord } from "../domain/statusRecord.js";
import type { Logger } from "../log.js";
import type { Clock, OutboundQueue, StatusStore } from "../storage/ports.js";
import { DestinationError, type DestinationPolicy, resolveDestination } from "../webhooks/destination.js";
import { postPinned } from "../webhooks/post.js";
import { signatureHeader, signatureOf } from "../webhooks/signature.js";

/** A queued webhook delivery: which message's final state to report. Version 1. */
const webhookJobSchema = z.object({
  v: z.literal(1),
  messageId: z.string(),
  clientId: z.string(),
  attempt: z.number().int().min(1),
});
type WebhookJob = z.infer<typeof webhookJobSchema>;

// Retries back off 10 s, 20 s, 40 s … up to an hour between attempts; after 10 attempts (about 3 hours) we stop.
const maxAttempts = 10;
const backoffMs = (attempt: number) => Math.min(10_000 * 2 ** (attempt - 1), 3600_000);

export interface WebhookDeps {
  statuses: StatusStore;
  /** The `mailhook-webhooks` queue. */
  webhookQueue: OutboundQueue;
  client(clientId: string): Client | undefined;
  policy: DestinationPolicy;
  clock: Clock;
  log: Logger;
}

function encode(job: WebhookJob): string {
  return Buffer.from(JSON.stringify(job)).toString("base64");
}

/** Where `record`'s final state is reported, if anywhere: the message's own callbackUrl, else its client's. */
export function callbackUrlOf(record: StatusRecord, client: Client | undefined): string | undefined {
  return client?.callbackSecret ? (record.callbackUrl ?? client.callbackUrl) : undefined;
}

/** Queues the report of a message that reached `sent` or `failed`, when its client or message asked for one. */
export async function enqueueWebhook(record: StatusRecord | undefined, deps: WebhookDeps): Promise<void> {
  if (!record || !isFinal(record.status) || record.status === "cancelled") return;
  if (!callbackUrlOf(record, deps.client(record.clientId))) return;
  await deps.webhookQueue.send(encode({ v: 1, messageId: record.id, clientId: record.clientId, attempt: 1 }));
}

/**
 * Queue trigger for `mailhook-webhooks`: POSTs `{type, message}` signed with the client's callbackSecret
 * (`Mailhook-Signature`), to a public https address only. A failed delivery is queued again with backoff
 * (the invocation succeeds, so the poison queue stays for real faults).
 */
export async function deliverWebhook(item: unknown, deps: WebhookDeps): Promise<void> {
  const job = webhookJobSchema.parse(typeof item === "string" ? JSON.parse(item) : item);
  const record = await deps.statuses.get(job.clientId, job.messageId);
  const client = deps.client(job.clientId);
  const url = record && callbackUrlOf(record, client);
  if (!record || !client?.callbackSecret || !url) return;
  const now = deps.clock.now();
  const body = JSON.stringify({
    type: `message.${record.status}`,
    sentAt: now.toISOString(),
    message: publicView(record),
  });
  const log = (message: string, fields: Record<string, unknown> = {}) =>
    deps.log.info(message, { messageId: record.id, clientId: client.id, attempt: job.attempt, ...fields });
  try {
    const destination = await resolveDestination(url, deps.policy);
    const status = await postPinned(url, body, destination, {
      "content-type": "application/json",
      [signatureHeader]: signatureOf(client.callbackSecret, body, Math.floor(now.getTime() / 1000)),
      "user-agent": "mailhook-webhooks/1",
    });
    if (status >= 200 && status < 300) {
      log("webhook delivered", { status });
      return;
    }
    throw new Error(`the receiver answered ${status}`);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (error instanceof DestinationError) {
      deps.log.warn("webhook refused", { messageId: record.id, clientId: client.id, reason });
      return;
    }
    if (job.attempt >= maxAttempts) {
      deps.log.warn("webhook given up", {
        messageId: record.id,
        clientId: client.id,
        attempts: job.attempt,
        reason,
      });
      return;
    }
    log("webhook failed; will retry", { reason });
    await deps.webhookQueue.send(encode({ ...job, attempt: job.attempt + 1 }), {
      delayMs: backoffMs(job.attempt),
    });
  }
}
