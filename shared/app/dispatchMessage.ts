import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import type { TransportName } from "../domain/client.js";
import type { Logger } from "../log.js";
import { type StoredMessage, storedMessageSchema } from "../domain/message.js";
import { describeWait, type MailboxPacer } from "./mailboxPacer.js";
import { decodeEnvelope, encodeEnvelope, type QueueEnvelope } from "../domain/envelope.js";
import { isFinal, type StatusRecord, transition } from "../domain/statusRecord.js";
import {
  type Clock,
  type MessageStore,
  type OutboundQueue,
  PacingContentionError,
  type StatusStore,
} from "../storage/ports.js";
import type { SendOutcome } from "../transport/outcome.js";
import type { Transport } from "../transport/transport.js";
import { toOutbound } from "../domain/outbound.js";
import type { PacingDecision, ThrottleFeedback } from "../pacing/window.js";

export interface DispatchDeps {
  messages: MessageStore;
  statuses: StatusStore;
  queue: OutboundQueue;
  transports: ReadonlyMap<TransportName, Transport>;
  clock: Clock;
  log: Logger;
  /** Shared pacing of sending mailboxes: a slot is reserved before every send. */
  pacer: MailboxPacer;
  /** Waits for a slot reserved a few seconds ahead; tests with a fake clock advance it instead. */
  sleep?(ms: number): Promise<void>;
  /** Client default for Graph's saveToSentItems when the message does not say. */
  saveToSentItems(clientId: string): boolean;
  /** Reports a message that reached `sent` or `failed` (delivery webhooks); absent: nothing is reported. */
  reportFinal?(record: StatusRecord | undefined): Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// A mailbox record contended beyond the store's retries: come back after a short random pause, no attempt spent.
const contentionRetryMs = { min: 500, spread: 2000 };

/** Thrown for a transient failure: the queue trigger retries it, and after maxDequeueCount it goes to poison. */
export class TransientSendError extends Error {
  constructor(readonly outcome: Extract<SendOutcome, { kind: "transient" }>) {
    super(`transient send failure: ${outcome.code ?? ""} ${outcome.text}`.trim());
    this.name = "TransientSendError";
  }
}

/** Queue trigger for `mailhook-outbound`: sends one message, at most once as far as the status record can tell. */
export async function dispatchMessage(item: unknown, deps: DispatchDeps): Promise<void> {
  const envelope = decodeEnvelope(item);
  const log = deps.log;
  const record = await deps.statuses.get(envelope.clientId, envelope.id);
  if (!record) {
    log.error("no status record for queued message; dropping it", { messageId: envelope.id });
    return;
  }
  if (isFinal(record.status)) {
    log.info("message already final; redelivery ignored", { messageId: envelope.id, status: record.status });
    return;
  }
  const now = deps.clock.now();
  if (record.sendAt && Date.parse(record.sendAt) > now.getTime()) {
    // Scheduled beyond one visibility timeout (7 days): wait again.
    await deps.queue.send(encodeEnvelope(envelope), { delayMs: Date.parse(record.sendAt) - now.getTime() });
    return;
  }
  const transport = deps.transports.get(record.transport);
  if (!transport) throw new Error(`transport ${record.transport} is not configured`);

  // A deferred message holds a booking for its planned slot (see shared/pacing/window.ts).
  const bookedAt =
    record.status === "deferred" && record.nextAttemptAt ? Date.parse(record.nextAttemptAt) : undefined;
  const policy = deps.pacer.policy(envelope.mailbox, record.transport);
  if (bookedAt !== undefined && bookedAt > now.getTime() + policy.maxHoldMs) {
    // Woken before its slot: a visibility timeout is capped at 7 days, so longer waits are chained.
    await deps.queue.send(encodeEnvelope(envelope), { delayMs: bookedAt - now.getTime() });
    return;
  }
  let decision: PacingDecision;
  try {
    decision = await deps.pacer.reserve(envelope.mailbox, record.transport, {
      recipients: envelope.recipients,
      bookedAt,
    });
  } catch (error) {
    if (!(error instanceof PacingContentionError)) throw error;
    log.warn("pacing state contended; trying again shortly", { messageId: record.id });
    const delayMs = contentionRetryMs.min + Math.random() * contentionRetryMs.spread;
    await deps.queue.send(encodeEnvelope(envelope), { delayMs });
    return;
  }
  if (decision.kind === "impossible") {
    await markFailed(envelope, deps, () => ({
      reason: decision.detail,
      lastError: { code: "limits", text: decision.detail },
    }));
    return;
  }
  if (decision.kind === "wait") {
    // Throttling is scheduling, not failure: the message sleeps in the queue until its own slot.
    const at = deps.clock.now();
    const reason = describeWait(decision, policy, envelope.recipients);
    await deps.statuses.update(record.clientId, record.id, (r) =>
      isFinal(r.status)
        ? undefined
        : transition(r, "deferred", at, { nextAttemptAt: new Date(decision.until).toISOString(), reason }),
    );
    await deps.queue.send(encodeEnvelope(envelope), { delayMs: Math.max(0, decision.until - at.getTime()) });
    log.info("message deferred by pacing", {
      messageId: record.id,
      reason: decision.reason,
      until: decision.until,
    });
    return;
  }

  const { leaseId } = decision;
  const release = (throttle?: ThrottleFeedback) =>
    deps.pacer.release(envelope.mailbox, record.transport, {
      leaseId,
      recipients: envelope.recipients,
      throttle,
    });
  const holdMs = decision.startAt - deps.clock.now().getTime();
  if (holdMs > 0) await (deps.sleep ?? realSleep)(holdMs);

  let outcome: SendOutcome;
  try {
    const message = await loadMessage(envelope, deps.messages);
    const sending = await deps.statuses.update(record.clientId, record.id, (r) =>
      isFinal(r.status)
        ? undefined
        : transition(r, "sending", deps.clock.now(), {
            attempts: r.attempts + 1,
            nextAttemptAt: undefined,
            reason: undefined,
          }),
    );
    if (sending?.status !== "sending") {
      // Cancelled (or finished elsewhere) while waiting for the slot: nothing to send.
      await release();
      return;
    }
    outcome = await transport.send(
      toOutbound(message, {
        saveToSentItems: deps.saveToSentItems(message.clientId),
        open: async (a) =>
          a.blob
            ? deps.messages.download(a.blob)
            : Readable.from(Buffer.from(a.contentBase64 ?? "", "base64")),
      }),
    );
  } catch (error) {
    // The send may or may not have happened: the reservation keeps counting, only the lease ends.
    await release();
    throw error;
  }
  log.info("send attempt finished", {
    messageId: record.id,
    transport: transport.name,
    outcome: outcome.kind,
    code: "code" in outcome ? outcome.code : undefined,
  });
  if (outcome.kind === "throttled") {
    // The mailbox pauses; the answer is this message's slot after the pause.
    const plannedAt = await release({
      retryAfterMs: outcome.retryAfterMs,
      quota: outcome.cause === "quota",
      reason: `${outcome.code ?? "throttled"}: ${outcome.text}`,
    });
    await recordOutcome(outcome, envelope, record, deps, plannedAt);
    return;
  }
  // A final outcome is recorded first: should the release fail, the lease simply runs out, and a
  // redelivered message finds its status final instead of being sent again.
  const releaseQuietly = () =>
    release().catch((error: unknown) =>
      log.warn("pacing release failed; the lease will expire", {
        messageId: record.id,
        error: String(error),
      }),
    );
  if (outcome.kind === "transient") await releaseQuietly();
  await recordOutcome(outcome, envelope, record, deps, undefined);
  await releaseQuietly();
}

/**
 * A final failure. The message's content stays as a dead letter (`{id}/envelope.json` plus any attachment
 * blobs) so `POST /api/v1/messages/{id}/retry` can send it again, until FAILED_MESSAGE_RETENTION_DAYS ends it.
 */
async function markFailed(
  envelope: QueueEnvelope,
  deps: Pick<DispatchDeps, "statuses" | "messages" | "clock" | "reportFinal">,
  failure: (current: StatusRecord) => { reason: string; lastError?: { code?: string; text: string } },
): Promise<StatusRecord | undefined> {
  const now = deps.clock.now();
  await deps.messages.upload(
    deadLetterPath(envelope.id),
    Buffer.from(JSON.stringify(envelope)),
    "application/json",
  );
  const record = await deps.statuses.update(envelope.clientId, envelope.id, (r) => {
    if (isFinal(r.status)) return undefined;
    const { reason, lastError } = failure(r);
    return transition(
      r,
      "failed",
      now,
      {
        reason,
        ...(lastError ? { lastError: { ...lastError, at: now.toISOString() } } : {}),
        nextAttemptAt: undefined,
        hasBlobs: true,
      },
      lastError?.code ?? reason,
    );
  });
  // Cancelled (or sent) meanwhile: nothing to keep.
  if (record?.status !== "failed") await deps.messages.deleteMessage(envelope.id);
  else await deps.reportFinal?.(record);
  return record;
}

/** Where a failed message's queue envelope is kept for a retry. */
export const deadLetterPath = (id: string): string => `${id}/envelope.json`;

async function recordOutcome(
  outcome: SendOutcome,
  envelope: QueueEnvelope,
  record: StatusRecord,
  deps: DispatchDeps,
  plannedAt: number | undefined,
): Promise<void> {
  const now = deps.clock.now();
  const at = now.toISOString();
  switch (outcome.kind) {
    case "sent": {
      const sent = await deps.statuses.update(record.clientId, record.id, (r) =>
        transition(r, "sent", now, {
          sentAt: at,
          providerMessageId: outcome.providerMessageId,
          nextAttemptAt: undefined,
          reason: undefined,
          hasBlobs: false,
        }),
      );
      await deps.messages.deleteMessage(record.id);
      await deps.reportFinal?.(sent);
      return;
    }
    case "permanent":
      await markFailed(envelope, deps, () => ({
        reason: outcome.text,
        lastError: { code: outcome.code, text: outcome.text },
      }));
      return;
    case "throttled": {
      // Throttling is scheduling, not failure: the mailbox pauses (shared/pacing) and this message is booked
      // first after the pause; no attempt is spent.
      const plannedMs = plannedAt ?? now.getTime() + outcome.retryAfterMs;
      const nextAttemptAt = new Date(plannedMs).toISOString();
      const quota = outcome.cause === "quota";
      const reason = `${quota ? "the mailbox is over its daily recipient quota" : "throttled by the provider"} (${outcome.code ?? "no code"}): ${outcome.text}; paused until ${nextAttemptAt}`;
      await deps.statuses.update(record.clientId, record.id, (r) =>
        transition(r, "deferred", now, {
          nextAttemptAt,
          reason,
          lastError: { code: outcome.code, text: outcome.text, at },
        }),
      );
      await deps.queue.send(encodeEnvelope(envelope), { delayMs: Math.max(0, plannedMs - now.getTime()) });
      return;
    }
    case "transient":
      await deps.statuses.update(record.clientId, record.id, (r) =>
        transition(r, "deferred", now, {
          nextAttemptAt: undefined,
          reason: `transient failure, will retry: ${outcome.text}`,
          lastError: { code: outcome.code, text: outcome.text, at },
        }),
      );
      throw new TransientSendError(outcome);
  }
}

async function loadMessage(envelope: QueueEnvelope, messages: MessageStore): Promise<StoredMessage> {
  if (envelope.message) return envelope.message;
  const json = await text(await messages.download(envelope.messageBlob!));
  return storedMessageSchema.parse(JSON.parse(json));
}

/** Queue trigger for the poison queue: the retry budget is spent, so the message fails with its last error. */
export async function failMessage(
  item: unknown,
  dequeueCount: number | undefined,
  deps: Pick<DispatchDeps, "statuses" | "messages" | "clock" | "log" | "reportFinal">,
): Promise<void> {
  const envelope = decodeEnvelope(item);
  const updated = await markFailed(envelope, deps, (r) => {
    const last = r.lastError ? `${r.lastError.code ?? ""} ${r.lastError.text}`.trim() : "no error recorded";
    return { reason: `gave up after ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}: ${last}` };
  });
  deps.log.warn("message moved to poison queue", {
    messageId: envelope.id,
    status: updated?.status,
    dequeueCount,
  });
}
