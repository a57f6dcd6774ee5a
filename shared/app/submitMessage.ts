import type { ReadableStream } from "node:stream/web";
import type { Client } from "../domain/client.js";
import { encodeEnvelope, type QueueEnvelope } from "../domain/envelope.js";
import { messageFingerprint, mimeRetryKey } from "../domain/idempotency.js";
import { recipientsOf } from "../domain/message.js";
import { mimeRecipients } from "../domain/outbound.js";
import { type StatusRecord, summaryLimits, transition } from "../domain/statusRecord.js";
import { checkIn, checkInMime, usesBlobs } from "../intake/claimCheck.js";
import { mimeToComposed } from "../intake/mimeToComposed.js";
import { enforceMimePolicy, enforcePolicy } from "../intake/policy.js";
import { type IncomingMessage, readMessage } from "../intake/readMessage.js";
import type { SmtpEnvelope } from "../intake/smtpEnvelope.js";
import type { Logger } from "../log.js";
import type { MessageStore } from "../storage/ports.js";
import { sendsAsMime } from "../transport/graph/payload.js";
import { claimIdempotencyKey } from "./idempotencyKey.js";
import type { Services } from "./services.js";
import { UndoList } from "./undo.js";

export interface Submission {
  client: Client;
  contentType: string;
  body: ReadableStream<Uint8Array> | null;
  /** The caller's `Idempotency-Key`, if it sent one. */
  idempotencyKey?: string;
  /** The SMTP envelope the request headers name (message/rfc822 only). */
  envelope?: SmtpEnvelope;
  /** Derive the Idempotency-Key from a MIME message itself (the SMTP edge: a device's retry after a lost reply). */
  deriveIdempotencyKey?: boolean;
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
  const { client } = submission;
  const id = services.newId();
  const undo = new UndoList();
  try {
    // Whatever intake stores under `{id}/` (multipart file parts, large attachments, MIME).
    undo.add(() => messages.deleteMessage(id));
    const incoming = await readMessage(
      { body: submission.body, contentType: submission.contentType, envelope: submission.envelope ?? {} },
      { id, client, config, store: messages, now: clock.now() },
    );
    const now = clock.now();
    if (incoming.kind === "composed") enforcePolicy(incoming.message, client, config, now);
    else enforceMimePolicy(incoming.message, incoming.headers, client, config);
    const idempotencyKey = submission.idempotencyKey ?? derivedKey(submission, incoming);
    if (idempotencyKey) {
      const fingerprint = messageFingerprint(incoming.message);
      const claim = { v: 1 as const, messageId: id, fingerprint, createdAt: now.toISOString() };
      // Registered first: a claim whose answer was lost is ours too (release checks it holds our id).
      undo.add(() => idempotency.release(client.id, idempotencyKey, id));
      const key = await claimIdempotencyKey(client.id, idempotencyKey, claim, services);
      if (key.kind === "replay") return { id: key.id, status: key.status, replayed: true };
    }
    const envelope = await queueable(incoming, client, messages);
    const sendAt = incoming.kind === "composed" ? incoming.message.sendAt : undefined;
    const delayMs = sendAt ? Math.max(0, Date.parse(sendAt) - now.getTime()) : 0;
    const status = delayMs > 0 ? "scheduled" : "queued";
    const composed = incoming.kind === "composed" ? incoming.message : undefined;
    const record: StatusRecord = {
      v: 2,
      id,
      clientId: client.id,
      status,
      transport: client.transport,
      mailbox: envelope.mailbox,
      recipients: envelope.recipients,
      ...summaryOf(incoming),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      attempts: 0,
      sendAt,
      ...(status === "scheduled" ? { nextAttemptAt: sendAt, reason: "waiting for sendAt" } : {}),
      metadata: composed?.metadata,
      callbackUrl: composed?.callbackUrl,
      hasBlobs: usesBlobs(envelope),
      timeline: [{ at: now.toISOString(), status }],
    };
    // A record written says why the message was not accepted after all. Registered before the write: a
    // create whose answer was lost may have stored it (the update leaves a record that does not exist alone).
    undo.add(() =>
      statuses.update(client.id, id, (r) =>
        transition(r, "failed", clock.now(), {
          reason: "not accepted: the queue could not take it",
          hasBlobs: false,
        }),
      ),
    );
    await statuses.create(record);
    await queue.send(encodeEnvelope(envelope), { delayMs });
    undo.forget();
    log.info("message accepted", {
      messageId: id,
      clientId: client.id,
      transport: client.transport,
      recipients: envelope.recipients,
      format: incoming.kind === "mime" ? (envelope.v === 2 ? "mime" : "mime, composed for graph") : "fields",
      ...(incoming.kind === "mime" ? { bytes: incoming.message.size } : {}),
      attachments: composed?.attachments.length,
      claimCheck: envelope.messageBlob !== undefined,
    });
    return { id, status, replayed: false };
  } finally {
    await undo.run((failures) => {
      for (const error of failures) {
        log.error("could not undo part of a refused message; it stays half-stored", {
          messageId: id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
  }
}

/** The key a MIME message's own Message-ID, envelope and bytes give, when the caller asked for one. */
function derivedKey(submission: Submission, incoming: IncomingMessage): string | undefined {
  if (!submission.deriveIdempotencyKey || incoming.kind !== "mime") return undefined;
  return mimeRetryKey({ ...incoming.message, ownMessageId: incoming.ownMessageId });
}

/**
 * The queue envelope of an accepted message. A MIME message for the graph transport that Graph's MIME
 * sendMail cannot take (over its 4 MB request, or To/Cc naming someone outside the envelope) is turned into a
 * composed message first: its attachments decoded into Blob storage, so upload sessions know their sizes.
 */
async function queueable(
  incoming: IncomingMessage,
  client: Client,
  store: MessageStore,
): Promise<QueueEnvelope> {
  if (incoming.kind === "composed") return checkIn(incoming.message, incoming.inlineBytes, store);
  const { message } = incoming;
  if (client.transport === "graph" && !sendsAsMime({ size: message.size, ...mimeRecipients(message) })) {
    return checkIn(await mimeToComposed(message, incoming.headers, store), new Map(), store);
  }
  return checkInMime(message, store);
}

/**
 * What the status record keeps of the message for lists and search: subject, addresses, file names (a MIME
 * message's file names are not known until it is sent: only its headers are read at intake).
 */
function summaryOf(
  incoming: IncomingMessage,
): Pick<StatusRecord, "subject" | "recipientAddresses" | "attachments"> {
  const addresses = (mailboxes: { address: string }[]) =>
    mailboxes.slice(0, summaryLimits.addresses).map((r) => r.address.toLowerCase());
  if (incoming.kind === "mime") {
    return {
      subject: incoming.headers.subject.slice(0, summaryLimits.subjectChars),
      recipientAddresses: addresses(incoming.message.recipients),
    };
  }
  const { message } = incoming;
  return {
    subject: message.subject.slice(0, summaryLimits.subjectChars),
    recipientAddresses: addresses(recipientsOf(message)),
    ...(message.attachments.length > 0
      ? {
          attachments: message.attachments
            .slice(0, summaryLimits.attachments)
            .map((a) => ({ name: a.name, size: a.size })),
        }
      : {}),
  };
}
