import { ProblemError } from "../domain/problem.js";

/** Message ids are UUIDs; anything else cannot name a message, so it is not looked up. */
export const isMessageId = (id: string): boolean => /^[A-Za-z0-9-]{1,64}$/.test(id);

/** 404 for a message this client cannot see: absent, or another client's (never 403, which would tell). */
export const messageNotFound = (id: string): ProblemError =>
  new ProblemError("notFound", `No message ${id} for this client.`);
