import { fitsInline, type QueueEnvelope } from "../domain/envelope.js";
import type { StoredMessage, StoredMimeMessage } from "../domain/message.js";
import { recipientsOf } from "../domain/message.js";
import type { MessageStore } from "../storage/ports.js";

/**
 * The queue envelope for an accepted message: the message inline when it fits a queue message, else its
 * attachment bytes and then (if still too large) the message itself go to Blob storage first (claim check).
 */
export async function checkIn(
  message: StoredMessage,
  inlineBytes: ReadonlyMap<number, Buffer>,
  store: MessageStore,
): Promise<QueueEnvelope> {
  let stored = message;
  if (!fitsInline(stored)) {
    const attachments = await Promise.all(
      message.attachments.map(async (attachment, index) => {
        const bytes = inlineBytes.get(index);
        if (!bytes) return attachment;
        const blob = `${message.id}/attachments/${index}`;
        await store.upload(blob, bytes, attachment.contentType);
        const { contentBase64: _inline, ...rest } = attachment;
        return { ...rest, blob };
      }),
    );
    stored = { ...message, attachments };
  }
  const envelope = {
    v: 1 as const,
    id: message.id,
    clientId: message.clientId,
    mailbox: message.from.address.toLowerCase(),
    recipients: recipientsOf(message).length,
  };
  if (fitsInline(stored)) return { ...envelope, message: stored };
  return { ...envelope, messageBlob: await storeMessage(message.id, stored, store) };
}

/** The envelope (version 2) of a MIME message, whose bytes intake already streamed into Blob storage. */
export async function checkInMime(message: StoredMimeMessage, store: MessageStore): Promise<QueueEnvelope> {
  const envelope = {
    v: 2 as const,
    id: message.id,
    clientId: message.clientId,
    mailbox: message.from.address.toLowerCase(),
    recipients: message.recipients.length,
  };
  // Hundreds of recipients can outgrow a queue message even without the bytes.
  if (fitsInline(message)) return { ...envelope, message };
  return { ...envelope, messageBlob: await storeMessage(message.id, message, store) };
}

async function storeMessage(id: string, message: object, store: MessageStore): Promise<string> {
  const messageBlob = `${id}/message.json`;
  await store.upload(messageBlob, Buffer.from(JSON.stringify(message)), "application/json");
  return messageBlob;
}

export function usesBlobs(envelope: QueueEnvelope): boolean {
  if (envelope.messageBlob !== undefined) return true;
  if (envelope.v === 2) return envelope.message?.blob !== undefined;
  return envelope.message?.attachments.some((a) => a.blob) ?? false;
}
