import { text } from "node:stream/consumers";
import { decodeEnvelope, type QueueEnvelope } from "../domain/envelope.js";
import type { MessageStore } from "../storage/ports.js";

/**
 * A failed message's queue envelope, kept beside its attachment blobs as `{id}/envelope.json` so
 * `POST /api/v1/messages/{id}/retry` can send it again, until FAILED_MESSAGE_RETENTION_DAYS ends it.
 */
const deadLetterPath = (id: string): string => `${id}/envelope.json`;

export async function keepDeadLetter(envelope: QueueEnvelope, messages: MessageStore): Promise<void> {
  await messages.upload(
    deadLetterPath(envelope.id),
    Buffer.from(JSON.stringify(envelope)),
    "application/json",
  );
}

/** The kept envelope, or undefined when its content is gone (retention, or a message that never failed). */
export async function loadDeadLetter(id: string, messages: MessageStore): Promise<QueueEnvelope | undefined> {
  const stored = await messages
    .download(deadLetterPath(id))
    .then(text)
    .catch(() => undefined);
  return stored === undefined ? undefined : decodeEnvelope(JSON.parse(stored));
}
