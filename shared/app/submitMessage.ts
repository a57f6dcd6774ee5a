import type { ReadableStream } from "node:stream/web";
import type { Client } from "../domain/client.js";
import { encodeEnvelope } from "../domain/envelope.js";
import { type IdempotencyRecord, messageFingerprint } from "../domain/idempotency.js";
import { ProblemError } from "../domain/problem.js";
import { type StatusRecord, transition } from "../domain/statusRecord.js";
import { checkIn, usesBlobs } from "../intake/claimCheck.js";
import { enforcePolicy } from "../intake/policy.js";
import { readMessage } from "../intake/readMessage.js";
import type { Logger } from "../log.js";
import type { Services } from "./services.js";
import { UndoList } from "./undo.js";

export interface Submission {
  client: Client;
  contentType: string;
  body: ReadableStream<Uint8Array> | null;
  /** The caller's `Idempotency-Key`, if it sent one. */
  idempotencyKey?: string;
}

export interface Accepted {
  id: string;
  status: "queued" | "scheduled";
  /** True when an earlier request with the same Idempotency-Key and message was accepted instead. */
  replayed: boolean;
}

/**
 * Accepts a message: read and validate it, store what is large, record its status, enqueue it. A refused
 * request leaves nothing behind; throws the ProblemError the caller should see.
 */
export async function submitMessage(
  submission: Submission,
  services: Services,
  log: Logger,
): Promise<Accepted> {
  const { config, messages, statuses, queue, clock, idempotency } = services;
  const { client, idempotencyKey } = submission;
  const id = services.newId();
  const undo = new UndoList();
  try {
    // Whatever intake stores under `{id}/` (multipart file parts, large attachments).
    undo.add(() => messages.deleteMessage(id));
    const { message, inlineBytes } = await readMessage(
      submission.body,
      submission.contentType,
      id,
      client,
      config,
      messages,
    );
    const now = clock.now();
    enforcePolicy(message, client, config, now);
    if (idempotencyKey) {
      const fingerprint = messageFingerprint(message);
      const claim = { v: 1 as const, messageId: id, fingerprint, createdAt: now.toISOString() };
      const holder = await idempotency.claim(client.id, idempotencyKey, claim, now);
      if (holder.messageId !== id) return await replay(holder, fingerprint);
      undo.add(() => idempotency.release(client.id, idempotencyKey, id));
    }
    const envelope = await checkIn(message, inlineBytes, messages);
    const delayMs = message.sendAt ? Math.max(0, Date.parse(message.sendAt) - now.getTime()) : 0;
    const status = delayMs > 0 ? "scheduled" : "queued";
    const record: StatusRecord = {
      v: 1,
      id,
      clientId: client.id,
      status,
      transport: client.transport,
      mailbox: envelope.mailbox,
      recipients: envelope.recipients,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      attempts: 0,
      sendAt: message.sendAt,
      ...(status === "scheduled" ? { nextAttemptAt: message.sendAt, reason: "waiting for sendAt" } : {}),
      metadata: message.metadata,
      callbackUrl: message.callbackUrl,
      hasBlobs: usesBlobs(envelope),
      timeline: [{ at: now.toISOString(), status }],
    };
    await statuses.create(record);
    // A record already written says why the message was not accepted after all.
    undo.add(() =>
      statuses.update(client.id, id, (r) =>
        transition(r, "failed", clock.now(), {
          reason: "not accepted: the queue could not take it",
          hasBlobs: false,
        }),
      ),
    );
    await queue.send(encodeEnvelope(envelope), { delayMs });
    undo.forget();
    log.info("message accepted", {
      messageId: id,
      clientId: client.id,
      transport: client.transport,
      recipients: envelope.recipients,
      attachments: message.attachments.length,
      claimCheck: envelope.messageBlob !== undefined,
    });
    return { id, status, replayed: false };
  } finally {
    await undo.run();
  }

  /** The same key again: the original answer for the same message, 409 for a different one. */
  async function replay(holder: IdempotencyRecord, fingerprint: string): Promise<Accepted> {
    if (holder.fingerprint !== fingerprint) {
      throw new ProblemError(
        "conflict",
        `Idempotency-Key was already used for a different message (${holder.messageId}); use a new key for a new message.`,
        { extensions: { field: "Idempotency-Key", messageId: holder.messageId } },
      );
    }
    // The first request may still be storing its record; it answered "queued" or "scheduled" then.
    const current = (await statuses.get(client.id, holder.messageId))?.status;
    const status = current === "scheduled" ? "scheduled" : "queued";
    return { id: holder.messageId, status, replayed: true };
  }
}
