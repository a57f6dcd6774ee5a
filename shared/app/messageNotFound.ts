import { ProblemError } from "../domain/problem.js";

/** 404 for a message this client cannot see: absent, or another client's (never 403, which would tell). */
export const messageNotFound = (id: string): ProblemError =>
  new ProblemError("notFound", `No message ${id} for this client.`);
