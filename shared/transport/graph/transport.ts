import type { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import type { Client, GraphError } from "@microsoft/microsoft-graph-client";
import { z } from "zod";
import type {
  ComposedMessage,
  MimeMessage,
  OutboundAttachment,
  OutboundMessage,
} from "../../domain/outbound.js";
import { classifyTokenFailure } from "../entra/outcome.js";
import { type AccessToken, graphScope, TokenError, type TokenProvider } from "../entra/tokenProvider.js";
import type { SendOutcome } from "../outcome.js";
import type { Transport } from "../transport.js";
import { createGraphClient } from "./client.js";
import { classifyGraphFailure, type GraphFailure, type GraphStep } from "./outcome.js";
import {
  type AttachmentRoute,
  bccHeader,
  fileAttachment,
  graphUploadBytes,
  inlineFields,
  planGraphSend,
  sendsAsMime,
  toGraphMessage,
} from "./payload.js";
import { GraphStepError, uploadToSession } from "./uploadSession.js";

export interface GraphTransportSettings {
  /** `GRAPH_ENDPOINT`: https://graph.microsoft.com, or a national cloud's host. */
  graphEndpoint: string;
  tokens: TokenProvider;
  /** Deadline for one Graph call (default 60 s). */
  requestTimeoutMs?: number;
  /** Deadline for one upload chunk PUT (default 120 s). */
  chunkTimeoutMs?: number;
  /** [0, 1) for the jitter of fallback backoff; Math.random unless a caller needs it fixed. */
  random?: () => number;
}

const draftSchema = z.object({ id: z.string().min(1) });
const uploadSessionSchema = z.object({ uploadUrl: z.url() });

/**
 * Microsoft Graph, app-only: `sendMail` when the request fits under Graph's 4 MB cap; otherwise a draft,
 * attachments added one by one (upload sessions from 3 MB), then `send`. A sender's own MIME goes as MIME
 * sendMail (intake turned larger ones into composed messages). Answers are classified, not thrown.
 *
 * Duplicate windows (Graph has no idempotency key): a sendMail or send that times out or gets a 5xx may still
 * be delivered, and the retry sends again. A message sent through a draft or as MIME is always kept in Sent
 * Items: Graph's `send` has no saveToSentItems and a MIME sendMail body has no place for it
 * (https://learn.microsoft.com/graph/api/user-sendmail: "This method saves the message in the Sent Items
 * folder"); the status timeline says so when saveToSentItems was false.
 */
export class GraphTransport implements Transport {
  readonly name = "graph" as const;
  private readonly client: Client;
  private readonly scope: string;
  /** Throttling answers in a row per mailbox, for the fallback backoff when Retry-After is missing. */
  private readonly throttles = new Map<string, number>();
  private refreshToken = false;
  /** The token fetched at the start of the latest send; Graph calls use it while it has a minute left. */
  private token?: AccessToken;

  constructor(private readonly settings: GraphTransportSettings) {
    this.scope = graphScope(settings.graphEndpoint);
    this.client = createGraphClient({
      graphEndpoint: settings.graphEndpoint,
      timeoutMs: settings.requestTimeoutMs ?? 60_000,
      accessToken: async () => {
        if (this.token && this.token.expiresOnMs - Date.now() > 60_000) return this.token.token;
        return (await settings.tokens.getToken(this.scope)).token;
      },
    });
  }

  async send(message: OutboundMessage): Promise<SendOutcome> {
    if (message.kind === "mime" && !sendsAsMime(message)) {
      // Intake turns every other MIME message of a graph client into a composed one.
      return {
        kind: "permanent",
        code: "unsupported",
        text: "this MIME message is larger than Graph's 4 MB MIME sendMail or names recipients outside its envelope",
      };
    }
    const mailbox = message.from.address.toLowerCase();
    try {
      // Fetch (or renew) the token first: a credential problem is then classified as one, not as a network error.
      const forceRefresh = this.refreshToken;
      this.refreshToken = false;
      this.token = await this.settings.tokens.getToken(this.scope, { forceRefresh });
    } catch (error) {
      if (error instanceof TokenError) return classifyTokenFailure(error.errorCode, error.message);
      return { kind: "transient", code: "entra", text: errorText(error) };
    }
    try {
      let savedAnyway: string | undefined;
      if (message.kind === "mime") {
        await this.sendMime(message);
        savedAnyway = "Graph's MIME sendMail";
      } else {
        const plan = planGraphSend(message);
        if (plan.kind === "sendMail") await this.sendMail(message);
        else {
          await this.sendThroughDraft(message, plan.routes);
          savedAnyway = "a Graph draft send";
        }
      }
      this.throttles.delete(mailbox);
      return savedAnyway && !message.saveToSentItems
        ? {
            kind: "sent",
            note: `kept in Sent Items although saveToSentItems is false: ${savedAnyway} always saves`,
          }
        : { kind: "sent" };
    } catch (error) {
      if (!(error instanceof GraphStepError))
        return { kind: "transient", code: "unexpected", text: errorText(error) };
      if (error.failure.status === 401) this.refreshToken = true;
      const outcome = classifyGraphFailure(error.failure, {
        consecutiveThrottles: this.throttles.get(mailbox) ?? 0,
        nowMs: Date.now(),
        random: this.settings.random ?? Math.random,
      });
      if (outcome.kind === "throttled") this.throttles.set(mailbox, (this.throttles.get(mailbox) ?? 0) + 1);
      return outcome;
    }
  }

  uploadBytes(message: OutboundMessage): number {
    return graphUploadBytes(message);
  }

  async close(): Promise<void> {
    this.throttles.clear();
  }

  private async sendMail(message: ComposedMessage): Promise<void> {
    const attachments = [];
    for (const a of message.attachments) attachments.push(fileAttachment(a, await readBase64(a)));
    const body = {
      message: { ...toGraphMessage(message), ...(attachments.length > 0 ? { attachments } : {}) },
      saveToSentItems: message.saveToSentItems,
    };
    await this.call("sendMail", (c) => c.api(`${userPath(message)}/sendMail`).post(body));
  }

  /** MIME sendMail: the MIME in base64 as a text/plain body, envelope-only recipients named in a Bcc header. */
  private async sendMime(message: MimeMessage): Promise<void> {
    const mime = await buffer(await message.open());
    const body = Buffer.concat([Buffer.from(bccHeader(message.bcc)), mime]).toString("base64");
    await this.call("sendMail", (c) =>
      c
        .api(`${userPath(message)}/sendMail`)
        .header("Content-Type", "text/plain")
        .post(body),
    );
  }

  private async sendThroughDraft(message: ComposedMessage, routes: AttachmentRoute[]): Promise<void> {
    const user = userPath(message);
    const draft = draftSchema.parse(
      await this.call("draft", (c) => c.api(`${user}/messages`).post(toGraphMessage(message))),
    );
    const draftPath = `${user}/messages/${encodeURIComponent(draft.id)}`;
    try {
      for (const [index, attachment] of message.attachments.entries()) {
        if (routes[index] === "uploadSession") await this.uploadLarge(draftPath, attachment);
        else {
          const body = fileAttachment(attachment, await readBase64(attachment));
          await this.call("attachment", (c) => c.api(`${draftPath}/attachments`).post(body));
        }
      }
      await this.call("send", (c) => c.api(`${draftPath}/send`).post(undefined));
    } catch (error) {
      // Leave no half-built drafts behind; the retry builds a new one. Best effort: the first error matters.
      await this.client
        .api(draftPath)
        .delete()
        .catch(() => undefined);
      throw error;
    }
  }

  private async uploadLarge(draftPath: string, attachment: OutboundAttachment): Promise<void> {
    const session = uploadSessionSchema.parse(
      await this.call("uploadSession", (c) =>
        c.api(`${draftPath}/attachments/createUploadSession`).post({
          AttachmentItem: {
            attachmentType: "file",
            name: attachment.name,
            size: attachment.size,
            contentType: attachment.contentType,
            ...inlineFields(attachment),
          },
        }),
      ),
    );
    const source: Readable = await attachment.open();
    await uploadToSession(
      session.uploadUrl,
      source,
      attachment.size,
      this.settings.chunkTimeoutMs ?? 120_000,
    );
  }

  private async call<T>(step: GraphStep, request: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await request(this.client);
    } catch (error) {
      throw new GraphStepError(fromGraphError(step, error));
    }
  }
}

const userPath = (message: OutboundMessage) => `/users/${encodeURIComponent(message.from.address)}`;

async function readBase64(attachment: OutboundAttachment): Promise<string> {
  // Only attachments under 3 MB are read whole (inline or a single POST); larger ones stream in chunks.
  return (await buffer(await attachment.open())).toString("base64");
}

function fromGraphError(step: GraphStep, error: unknown): GraphFailure {
  const e = error as Partial<GraphError>;
  const status = typeof e.statusCode === "number" && e.statusCode > 0 ? e.statusCode : undefined;
  return {
    step,
    status,
    code: e.code ?? undefined,
    message: e.message || errorText(error),
    retryAfter: e.headers?.get("retry-after") ?? undefined,
  };
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
