import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import type { TransportName } from "../config.js";
import type { Logger } from "../log.js";
import { domainOf } from "../message/address.js";
import { type StoredMessage, storedMessageSchema } from "../message/schema.js";
import { decodeEnvelope, encodeEnvelope, type QueueEnvelope } from "../queue/envelope.js";
import { isFinal, type StatusRecord, transition } from "../status/record.js";
import type { Clock, MessageStore, OutboundQueue, StatusStore } from "../storage/ports.js";
import type { OutboundMessage, SendOutcome, Transport } from "../transport/transport.js";

export interface DispatchDeps {
  messages: MessageStore;
  statuses: StatusStore;
  queue: OutboundQueue;
  transports: ReadonlyMap<TransportName, Transport>;
  clock: Clock;
  log: Logger;
  /** Client default for Graph's saveToSentItems when the message does not say. */
  saveToSentItems(clientId: string): boolean;
}

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

  const message = await loadMessage(envelope, deps.messages);
  await deps.statuses.update(record.clientId, record.id, (r) =>
    isFinal(r.status) ? undefined : transition(r, "sending", deps.clock.now(), { attempts: r.attempts + 1 }),
  );
  const outcome = await transport.send(toOutbound(message, deps));
  log.info("send attempt finished", {
    messageId: record.id,
    transport: transport.name,
    outcome: outcome.kind,
    code: "code" in outcome ? outcome.code : undefined,
  });
  await recordOutcome(outcome, envelope, record, deps);
}

async function recordOutcome(
  outcome: SendOutcome,
  envelope: QueueEnvelope,
  record: StatusRecord,
  deps: DispatchDeps,
): Promise<void> {
  const now = deps.clock.now();
  const at = now.toISOString();
  switch (outcome.kind) {
    case "sent":
      await deps.statuses.update(record.clientId, record.id, (r) =>
        transition(r, "sent", now, {
          sentAt: at,
          providerMessageId: outcome.providerMessageId,
          nextAttemptAt: undefined,
          reason: undefined,
          hasBlobs: false,
        }),
      );
      await deps.messages.deleteMessage(record.id);
      return;
    case "permanent":
      await deps.statuses.update(record.clientId, record.id, (r) =>
        transition(
          r,
          "failed",
          now,
          {
            lastError: { code: outcome.code, text: outcome.text, at },
            nextAttemptAt: undefined,
            hasBlobs: false,
          },
          outcome.code,
        ),
      );
      await deps.messages.deleteMessage(record.id);
      return;
    case "throttled": {
      // Throttling is scheduling, not failure: come back when the provider said, without spending an attempt.
      const nextAttemptAt = new Date(now.getTime() + outcome.retryAfterMs).toISOString();
      const reason = `throttled by the provider (${outcome.code ?? "no code"}): ${outcome.text}`;
      await deps.statuses.update(record.clientId, record.id, (r) =>
        transition(r, "deferred", now, {
          nextAttemptAt,
          reason,
          lastError: { code: outcome.code, text: outcome.text, at },
        }),
      );
      await deps.queue.send(encodeEnvelope(envelope), { delayMs: outcome.retryAfterMs });
      return;
    }
    case "transient":
      await deps.statuses.update(record.clientId, record.id, (r) =>
        transition(r, "deferred", now, {
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

function toOutbound(message: StoredMessage, deps: DispatchDeps): OutboundMessage {
  return {
    id: message.id,
    messageId: `<${message.id}@${domainOf(message.from.address)}>`,
    from: message.from,
    to: message.to,
    cc: message.cc,
    bcc: message.bcc,
    replyTo: message.replyTo,
    subject: message.subject,
    text: message.text,
    html: message.html,
    headers: message.headers,
    importance: message.importance,
    saveToSentItems: message.saveToSentItems ?? deps.saveToSentItems(message.clientId),
    attachments: message.attachments.map((a) => ({
      name: a.name,
      contentType: a.contentType,
      size: a.size,
      open: async () =>
        a.blob ? deps.messages.download(a.blob) : Readable.from(Buffer.from(a.contentBase64 ?? "", "base64")),
    })),
  };
}

/** Queue trigger for the poison queue: the retry budget is spent, so the message fails with its last error. */
export async function failMessage(
  item: unknown,
  dequeueCount: number | undefined,
  deps: Pick<DispatchDeps, "statuses" | "messages" | "clock" | "log">,
): Promise<void> {
  const envelope = decodeEnvelope(item);
  const now = deps.clock.now();
  const updated = await deps.statuses.update(envelope.clientId, envelope.id, (r) => {
    if (isFinal(r.status)) return undefined;
    const last = r.lastError ? `${r.lastError.code ?? ""} ${r.lastError.text}`.trim() : "no error recorded";
    const reason = `gave up after ${r.attempts} attempt${r.attempts === 1 ? "" : "s"}: ${last}`;
    return transition(r, "failed", now, { reason, nextAttemptAt: undefined, hasBlobs: false }, reason);
  });
  deps.log.warn("message moved to poison queue", {
    messageId: envelope.id,
    status: updated?.status,
    dequeueCount,
  });
  await deps.messages.deleteMessage(envelope.id);
}
