import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import { z } from "zod";

/** What the API said about a key (`GET /api/v1/identity`). */
const identitySchema = z.object({
  clientId: z.string(),
  transport: z.string(),
  maxMessageBytes: z.number().int(),
  maxRecipientsPerMessage: z.number().int(),
  sender: z.object({ address: z.string(), allowed: z.boolean(), reason: z.string().optional() }).optional(),
});
export type Identity = z.infer<typeof identitySchema>;

const problemSchema = z.looseObject({
  type: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  field: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof problemSchema>;

const acceptedSchema = z.object({ id: z.string(), status: z.string() });

/** An answer of the API, or none. */
export type ApiAnswer<T> =
  | { kind: "ok"; value: T }
  /** A 4xx other than 429: the API refuses; the same request would be refused again. */
  | { kind: "refused"; status: number; problem: Problem }
  /** No answer, a 5xx or a 429: the request may succeed later. */
  | { kind: "unavailable"; reason: string };

export interface SubmitEnvelope {
  from: string;
  recipients: string[];
}

/**
 * The edge's side of the API: who a key is (`GET /v1/identity`) and submitting a device's message as
 * `message/rfc822` (`POST /v1/messages`), the body streamed from the SMTP DATA as it arrives. Connections
 * are kept alive; nothing of a message is held here.
 */
export class EdgeApi {
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly send: typeof httpRequest;

  constructor(
    /** The API base, e.g. `https://app.azurewebsites.net/api`. */
    private readonly baseUrl: string,
    private readonly timeoutsMs = { identity: 15_000, submit: 300_000 },
  ) {
    const https = new URL(baseUrl).protocol === "https:";
    this.agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.send = https ? httpsRequest : httpRequest;
  }

  async identity(key: string, sender?: string): Promise<ApiAnswer<Identity>> {
    const url = new URL(`${this.baseUrl}/v1/identity`);
    if (sender !== undefined) url.searchParams.set("sender", sender);
    const answer = await this.exchange(
      url,
      { method: "GET", headers: bearer(key) },
      undefined,
      this.timeoutsMs.identity,
    );
    return parsed(answer, identitySchema);
  }

  /**
   * POSTs the DATA stream as `message/rfc822` with its envelope. The API derives an Idempotency-Key from the
   * message's Message-ID, envelope and bytes, so a device that resends after a lost reply gets the same id.
   * When the device goes away mid-DATA the stream errors, the request is aborted and the API stores nothing.
   */
  async submit(key: string, data: Readable, envelope: SubmitEnvelope): Promise<ApiAnswer<{ id: string }>> {
    const headers = {
      ...bearer(key),
      "content-type": "message/rfc822",
      "mailhook-envelope-from": envelope.from,
      "mailhook-envelope-to": envelope.recipients.join(", "),
      "mailhook-derive-idempotency-key": "true",
    };
    const url = new URL(`${this.baseUrl}/v1/messages`);
    const answer = await this.exchange(url, { method: "POST", headers }, data, this.timeoutsMs.submit);
    const accepted = parsed(answer, acceptedSchema);
    return accepted.kind === "ok" ? { kind: "ok", value: { id: accepted.value.id } } : accepted;
  }

  close(): void {
    this.agent.destroy();
  }

  /** One request; resolves to the status and body, or to why there was none. Never rejects. */
  private exchange(
    url: URL,
    options: { method: string; headers: Record<string, string> },
    body: Readable | undefined,
    timeoutMs: number,
  ): Promise<{ status: number; text: string } | { error: string }> {
    return new Promise((resolve) => {
      let settled = false;
      let responded = false;
      const settle = (value: { status: number; text: string } | { error: string }) => {
        if (settled) return;
        settled = true;
        resolve(value);
      };
      const req = this.send(
        url,
        { ...options, agent: this.agent, timeout: timeoutMs },
        (res: IncomingMessage) => {
          responded = true;
          const chunks: Buffer[] = [];
          let length = 0;
          res.on("data", (chunk: Buffer) => {
            // Answers are small JSON; a large one is not ours.
            length += chunk.length;
            if (length <= 64 * 1024) chunks.push(chunk);
          });
          const early = body !== undefined && !body.readableEnded;
          res.on("end", () => {
            settle({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
            // A request cut short is never finished: let its connection go instead of leaving the API
            // waiting for a rest that will not come.
            if (early) req.destroy();
          });
          res.on("error", (error) => settle({ error: describe(error) }));
          if (body && early) {
            // The API answered before the whole message was sent (401, 413...): the rest is not needed, but
            // the SMTP side must still read the DATA to its end before it can reply.
            body.unpipe(req);
            body.resume();
          }
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
      // Once an answer has come, a write error (the API closed after answering early) changes nothing.
      req.on("error", (error) => {
        if (!responded) settle({ error: describe(error) });
      });
      if (!body) {
        req.end();
        return;
      }
      body.on("error", (error) => {
        // The device went away mid-DATA: abort, so the API sees a broken body and keeps nothing.
        req.destroy(error);
        settle({ error: `the message did not arrive in full: ${describe(error)}` });
      });
      body.pipe(req);
    });
  }
}

function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

function parsed<T>(
  answer: { status: number; text: string } | { error: string },
  schema: z.ZodType<T>,
): ApiAnswer<T> {
  if ("error" in answer) return { kind: "unavailable", reason: answer.error };
  const { status, text } = answer;
  if (status === 429 || status >= 500) return { kind: "unavailable", reason: `the API answered ${status}` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (status >= 200 && status < 300) {
    const value = schema.safeParse(json);
    return value.success
      ? { kind: "ok", value: value.data }
      : { kind: "unavailable", reason: `the API's ${status} answer is not what the edge expects` };
  }
  const problem = problemSchema.safeParse(json);
  return {
    kind: "refused",
    status,
    problem: problem.success ? problem.data : { detail: text.slice(0, 200) },
  };
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return [e.code, e.message].filter(Boolean).join(" ") || String(error);
}
