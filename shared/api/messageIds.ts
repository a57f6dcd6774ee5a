import { messageNotFound } from "../app/messageNotFound.js";

/** Message ids are UUIDs; anything else cannot name a message, so it is not looked up. */
const isMessageId = (id: string): boolean => /^[A-Za-z0-9-]{1,64}$/.test(id);

/** The `{id}` path parameter, or the same 404 an unknown id gets. */
export function messageIdParam(params: Record<string, string>): string {
  const id = params.id ?? "";
  if (!isMessageId(id)) throw messageNotFound(id);
  return id;
}
