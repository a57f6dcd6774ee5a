import type { z } from "zod";
import {
  bulkRetryResultSchema,
  callerSchema,
  mailboxListSchema,
  messageListSchema,
  overviewSchema,
  problemSchema,
} from "../../shared/api/views.js";
import { publicStatusSchema } from "../../shared/domain/statusRecord.js";

/**
 * The one module that talks to mailhook's API: the same routes and zod schemas as every other caller
 * (what it shows is checked against them). The key travels as `Authorization: Bearer`, so a wrong one is
 * answered with a Bearer challenge only and the browser never opens its own login dialog; `credentials:
 * "omit"` sends no cookie and no remembered HTTP login either.
 */
export type Caller = z.infer<typeof callerSchema>;
export type MessageList = z.infer<typeof messageListSchema>;
export type Message = z.infer<typeof publicStatusSchema>;
export type Mailboxes = z.infer<typeof mailboxListSchema>;
export type Overview = z.infer<typeof overviewSchema>;
export type BulkRetry = z.infer<typeof bulkRetryResultSchema>;

/** Why a call did not work, named by what the user should do about it. */
export type ApiErrorKind = "unauthorized" | "unreachable" | "refused" | "unexpected";

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface Api {
  me(): Promise<Caller>;
  messages(query: URLSearchParams): Promise<MessageList>;
  message(id: string): Promise<Message>;
  retry(id: string): Promise<Message>;
  cancel(id: string): Promise<Message>;
  retryMany(ids: string[]): Promise<BulkRetry>;
  mailboxes(): Promise<Mailboxes>;
  overview(): Promise<Overview>;
}

/** The API of this origin (the console is served by the same Function app) for one key. */
export function createApi(key: string, base = ""): Api {
  async function call<T extends z.ZodType>(
    schema: T,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<z.infer<T>> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        redirect: "error",
      });
    } catch {
      throw new ApiError(
        "unreachable",
        "The mailhook API cannot be reached. Check the network, then try again.",
      );
    }
    const text = await response.text().catch(() => "");
    const json = parseJson(text);
    if (response.ok) {
      const parsed = schema.safeParse(json);
      if (parsed.success) return parsed.data;
      throw new ApiError(
        "unexpected",
        "The API answered in a form this console does not know (another version?).",
      );
    }
    const problem = problemSchema.safeParse(json);
    const detail = problem.success ? problem.data.detail : undefined;
    if (response.status === 401)
      throw new ApiError("unauthorized", "This API key was not accepted. Check it and sign in again.", 401);
    // A gateway's own error page (the app stopped, restarting, or not there): not an answer of the API.
    if (!problem.success && response.status >= 500)
      throw new ApiError(
        "unreachable",
        `The mailhook API is not answering (HTTP ${response.status}). Try again shortly.`,
        response.status,
      );
    if (response.status >= 500)
      throw new ApiError(
        "unexpected",
        detail ?? `The API failed (HTTP ${response.status}).`,
        response.status,
      );
    throw new ApiError(
      "refused",
      detail ?? `The API refused this (HTTP ${response.status}).`,
      response.status,
    );
  }

  const message = (id: string) => `/api/v1/messages/${encodeURIComponent(id)}`;
  return {
    me: () => call(callerSchema, "GET", "/api/v1/me"),
    messages: (query) => call(messageListSchema, "GET", `/api/v1/messages?${query.toString()}`),
    message: (id) => call(publicStatusSchema, "GET", message(id)),
    retry: (id) => call(publicStatusSchema, "POST", `${message(id)}/retry`),
    cancel: (id) => call(publicStatusSchema, "DELETE", message(id)),
    retryMany: (ids) => call(bulkRetryResultSchema, "POST", "/api/v1/messages/retry", { ids }),
    mailboxes: () => call(mailboxListSchema, "GET", "/api/v1/mailboxes"),
    overview: () => call(overviewSchema, "GET", "/api/v1/overview"),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
