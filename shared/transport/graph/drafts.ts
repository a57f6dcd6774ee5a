import type { Client } from "@microsoft/microsoft-graph-client";
import { z } from "zod";
import type { SendCheckpoint } from "../../domain/statusRecord.js";
import type { GraphStep } from "./outcome.js";
import { GraphStepError } from "./uploadSession.js";

/**
 * Immutable ids: an item keeps its id when it moves to another folder of the mailbox, so the id of a draft
 * still names the message once `send` has moved it to Sent Items. The header applies to the one request it
 * is sent with, so every draft request carries it.
 * https://learn.microsoft.com/graph/outlook-immutable-id
 */
export const immutableIdHeader = { name: "Prefer", value: 'IdType="ImmutableId"' } as const;

const createdSchema = z.object({ id: z.string().min(1) });
const draftStateSchema = z.object({ isDraft: z.boolean() });

/** Runs one Graph request, turning its failure into a GraphStepError for `step`. */
export type GraphCall = <T>(step: GraphStep, request: (client: Client) => Promise<T>) => Promise<T>;

export const draftPath = (checkpoint: Pick<SendCheckpoint, "mailbox" | "id">) =>
  `/users/${encodeURIComponent(checkpoint.mailbox)}/messages/${encodeURIComponent(checkpoint.id)}`;

/** `POST /users/{mailbox}/messages`: a draft, answered 201 with its (immutable) id. */
export async function createDraft(call: GraphCall, mailbox: string, message: object): Promise<string> {
  const created = await call("draft", (c) =>
    c
      .api(`/users/${encodeURIComponent(mailbox)}/messages`)
      .header(immutableIdHeader.name, immutableIdHeader.value)
      .post(message),
  );
  return createdSchema.parse(created).id;
}

/**
 * What became of a recorded draft. "sent" when Graph no longer has it as a draft: `isDraft` is false (its copy
 * in Sent Items, same immutable id), or 404 ErrorItemNotFound (sent, and the Sent Items copy not written
 * yet, or deleted since: "the copy of the message is not created until the message successfully sends").
 * https://learn.microsoft.com/graph/api/resources/message ("isDraft: A message is a draft if it hasn't
 * been sent yet"), https://learn.microsoft.com/graph/outlook-immutable-id#immutable-id-with-sending-mail
 */
export async function draftState(call: GraphCall, checkpoint: SendCheckpoint): Promise<"draft" | "sent"> {
  try {
    const found = await call("reconcile", (c) =>
      c
        .api(draftPath(checkpoint))
        .header(immutableIdHeader.name, immutableIdHeader.value)
        .select("isDraft")
        .get(),
    );
    return draftStateSchema.parse(found).isDraft ? "draft" : "sent";
  } catch (error) {
    if (itemNotFound(error)) return "sent";
    throw error;
  }
}

/** `POST …/messages/{id}/send`: Graph moves the draft to Sent Items (always) and answers 202. */
export async function sendDraft(call: GraphCall, checkpoint: SendCheckpoint): Promise<void> {
  await call("send", (c) =>
    c
      .api(`${draftPath(checkpoint)}/send`)
      .header(immutableIdHeader.name, immutableIdHeader.value)
      .post(undefined),
  );
}

/** Deletes a draft; one already gone is fine. */
export async function deleteDraft(call: GraphCall, checkpoint: SendCheckpoint): Promise<void> {
  try {
    await call("discard", (c) =>
      c.api(draftPath(checkpoint)).header(immutableIdHeader.name, immutableIdHeader.value).delete(),
    );
  } catch (error) {
    if (!itemNotFound(error)) throw error;
  }
}

/** 404 with ErrorItemNotFound: the item is not in the mailbox (another 404, ErrorInvalidUser, is not this). */
export function itemNotFound(error: unknown): boolean {
  if (!(error instanceof GraphStepError)) return false;
  return error.failure.status === 404 && error.failure.code === "ErrorItemNotFound";
}
