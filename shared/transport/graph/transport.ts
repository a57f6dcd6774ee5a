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
import type { SendCheckpoint } from "../../domain/statusRecord.js";
import { classifyTokenFailure } from "../entra/outcome.js";
import { type AccessToken, graphScope, TokenError, type TokenProvider } from "../entra/tokenProvider.js";
import type { FailedOutcome, SendOutcome } from "../outcome.js";
import { type AbandonResult, firstAttempt, type SendAttempt, type Transport } from "../transport.js";
import { createGraphClient } from "./client.js";
import {
  createDraft,
  deleteDraft,
  draftPath,
  draftState,
  type GraphCall,
  itemNotFound,
  sendDraft,
} from "./drafts.js";
import { classifyGraphFailure, type GraphFailure, type GraphStep } from "./outcome.js";
import {
  bccHeader,
  fileAttachment,
  type GraphSendPlan,
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
  /** Clock for the per-mailbox "no Mail.ReadWrite" memory; Date.now unless a test needs it fixed. */
  nowMs?: () => number;
}

const uploadSessionSchema = z.object({ uploadUrl: z.url() });

type Sent = Extract<SendOutcome, { kind: "sent" }>;

// A mailbox whose app may not create drafts (no Mail.ReadWrite for it) is tried again after this long:
// permissions change (RBAC for Applications scopes them per mailbox).
const noDraftsRecheckMs = 60 * 60_000;

/** A checkpoint write that failed: not Graph's answer, so it reaches the dispatcher as it is. */
class CheckpointFailure extends Error {
  constructor(override readonly cause: unknown) {
    super("could not record the send checkpoint");
  }
}

/**
 * Microsoft Graph, app-only. Exactly once where Graph lets us check: a message that is kept in Sent Items
 * goes through a draft (created with `Prefer: IdType="ImmutableId"` and the message's own
 * internetMessageId), whose id is recorded on the status record before `send`; an attempt that finds a
 * recorded draft asks Graph about it first (still a draft: send it; gone or no longer a draft: it was
 * sent). That needs Mail.ReadWrite besides Mail.Send, as large attachments do (upload sessions).
 *
 * Remaining window: without Mail.ReadWrite for the mailbox, or with `saveToSentItems: false` (a draft's
 * `send` always saves a copy), a message that fits one request goes through `sendMail`, which has no
 * idempotency key and nothing to ask afterwards; a `sendMail` that gets no answer (reset, timeout, 5xx) may
 * still have been delivered, is retried, and is marked `ambiguous` so the status says it may arrive twice.
 * Answers are classified, not thrown.
 */
export class GraphTransport implements Transport {
  readonly name = "graph" as const;
  private readonly client: Client;
  private readonly scope: string;
  /** Throttling answers in a row per mailbox, for the fallback backoff when Retry-After is missing. */
  private readonly throttles = new Map<string, number>();
  /** Mailboxes whose drafts Graph refused (403: no Mail.ReadWrite), until when to use sendMail instead. */
  private readonly noDraftsUntil = new Map<string, number>();
  /** The token fetched at the start of the latest send; Graph calls use it while it has a minute left. */
  private token?: AccessToken;
  private readonly nowMs: () => number;

  constructor(private readonly settings: GraphTransportSettings) {
    this.scope = graphScope(settings.graphEndpoint);
    this.nowMs = settings.nowMs ?? Date.now;
    this.client = createGraphClient({
      graphEndpoint: settings.graphEndpoint,
      timeoutMs: settings.requestTimeoutMs ?? 60_000,
      accessToken: async () => {
        if (this.token && this.token.expiresOnMs - Date.now() > 60_000) return this.token.token;
        return (await settings.tokens.getToken(this.scope)).token;
      },
    });
  }

  async send(message: OutboundMessage, attempt: SendAttempt = firstAttempt): Promise<SendOutcome> {
    if (message.kind === "mime" && !sendsAsMime(message)) {
      // Intake turns every other MIME message of a graph client into a composed one.
      return {
        kind: "permanent",
        code: "unsupported",
        text: "this MIME message is larger than Graph's 4 MB MIME sendMail or names recipients outside its envelope",
      };
    }
    const mailbox = message.from.address.toLowerCase();
    const tokenFailure = await this.fetchToken();
    if (tokenFailure) return tokenFailure;
    try {
      const outcome =
        message.kind === "mime" ? await this.sendMime(message) : await this.sendComposed(message, attempt);
      this.throttles.delete(mailbox);
      return outcome;
    } catch (error) {
      if (error instanceof CheckpointFailure) throw error.cause;
      return this.classify(error, mailbox);
    }
  }

  async abandon(checkpoint: SendCheckpoint): Promise<AbandonResult> {
    const tokenFailure = await this.fetchToken();
    if (tokenFailure) throw new Error(`cannot ask Graph about draft: ${tokenFailure.text}`);
    if ((await draftState(this.call, checkpoint)) === "sent") return "sent";
    await deleteDraft(this.call, checkpoint);
    return "discarded";
  }

  uploadBytes(message: OutboundMessage): number {
    return graphUploadBytes(message);
  }

  async close(): Promise<void> {
    this.throttles.clear();
  }

  /** Fetches (or renews) the token first: a credential problem is then classified as one, not as a network error. */
  private async fetchToken(): Promise<FailedOutcome | undefined> {
    try {
      this.token = await this.settings.tokens.getToken(this.scope);
      return undefined;
    } catch (error) {
      if (error instanceof TokenError) return classifyTokenFailure(error.errorCode, error.message);
      return { kind: "transient", code: "entra", text: errorText(error) };
    }
  }

  private async sendComposed(message: ComposedMessage, attempt: SendAttempt): Promise<SendOutcome> {
    const plan = planGraphSend(message);
    if (attempt.checkpoint) {
      const recorded = attempt.checkpoint;
      if ((await draftState(this.call, recorded)) === "sent") {
        return { kind: "sent", providerMessageId: recorded.id, reconciled: true };
      }
      if (recorded.complete) return this.sendRecordedDraft(recorded);
      // A draft an earlier attempt left half-built: forget it before deleting it (a recorded id that is gone
      // would read as "sent"), then build a new one.
      await this.checkpoint(attempt, undefined);
      await deleteDraft(this.call, recorded).catch(() => undefined);
    }
    const mailbox = message.from.address.toLowerCase();
    const useSendMail =
      plan.kind === "sendMail" &&
      (!message.saveToSentItems || (this.noDraftsUntil.get(mailbox) ?? 0) > this.nowMs());
    if (useSendMail) {
      await this.sendMail(message);
      return { kind: "sent" };
    }
    try {
      return await this.sendThroughDraft(message, plan, attempt);
    } catch (error) {
      // No Mail.ReadWrite for this mailbox: a message that fits one request still goes, through sendMail.
      const refused =
        error instanceof GraphStepError && error.failure.step === "draft" && error.failure.status === 403;
      if (!refused || plan.kind !== "sendMail") throw error;
      this.noDraftsUntil.set(mailbox, this.nowMs() + noDraftsRecheckMs);
      // The role may be granted meanwhile: the recheck asks with a new token.
      this.forgetToken();
      await this.sendMail(message);
      return { kind: "sent" };
    }
  }

  private async sendMail(message: ComposedMessage): Promise<void> {
    const attachments = [];
    for (const a of message.attachments) attachments.push(fileAttachment(a, await readBase64(a)));
    const body = {
      message: { ...toGraphMessage(message), ...(attachments.length > 0 ? { attachments } : {}) },
      saveToSentItems: message.saveToSentItems,
    };
    await this.call("sendMail", (c) =>
      c.api(`/users/${encodeURIComponent(message.from.address)}/sendMail`).post(body),
    );
  }

  /**
   * MIME sendMail: the MIME in base64 as a text/plain body, envelope-only recipients named in a Bcc header.
   * No draft, so no checkpoint: a lost answer is retried (ambiguous).
   */
  private async sendMime(message: MimeMessage): Promise<SendOutcome> {
    const mime = await buffer(await message.open());
    const body = Buffer.concat([Buffer.from(bccHeader(message.bcc)), mime]).toString("base64");
    await this.call("sendMail", (c) =>
      c
        .api(`/users/${encodeURIComponent(message.from.address)}/sendMail`)
        .header("Content-Type", "text/plain")
        .post(body),
    );
    return message.saveToSentItems
      ? { kind: "sent" }
      : { kind: "sent", note: keptAnyway("Graph's MIME sendMail") };
  }

  /**
   * Creates the draft (attachments inline when the whole message fits one request, else one by one),
   * records it, then sends it. The checkpoint says whether every attachment is in: a later attempt sends a
   * complete draft and rebuilds an incomplete one.
   */
  private async sendThroughDraft(
    message: ComposedMessage,
    plan: GraphSendPlan,
    attempt: SendAttempt,
  ): Promise<Sent> {
    const inline = plan.kind === "sendMail";
    const attachments = [];
    if (inline) for (const a of message.attachments) attachments.push(fileAttachment(a, await readBase64(a)));
    const id = await createDraft(this.call, message.from.address, {
      ...toGraphMessage(message),
      // Writable while the message is a draft (message resource: "Updatable only if isDraft is true").
      internetMessageId: message.messageId,
      ...(attachments.length > 0 ? { attachments } : {}),
    });
    const built: SendCheckpoint = {
      kind: "graphDraft",
      mailbox: message.from.address,
      id,
      complete: inline || message.attachments.length === 0,
    };
    try {
      await this.checkpoint(attempt, built);
    } catch (error) {
      // Not recorded, so never sent: leave no draft behind.
      await deleteDraft(this.call, built).catch(() => undefined);
      throw error;
    }
    if (!built.complete && plan.kind === "draft") {
      try {
        for (const [index, attachment] of message.attachments.entries()) {
          if (plan.routes[index] === "uploadSession") await this.uploadLarge(built, attachment);
          else {
            const body = fileAttachment(attachment, await readBase64(attachment));
            await this.call("attachment", (c) => c.api(`${draftPath(built)}/attachments`).post(body));
          }
        }
      } catch (error) {
        // Leave no half-built drafts behind when we can; the retry builds a new one. The first error matters.
        await this.checkpoint(attempt, undefined)
          .then(() => deleteDraft(this.call, built))
          .catch(() => undefined);
        throw error;
      }
      await this.checkpoint(attempt, { ...built, complete: true });
    }
    const outcome = await this.sendRecordedDraft({ ...built, complete: true });
    return message.saveToSentItems ? outcome : { ...outcome, note: keptAnyway("a Graph draft send") };
  }

  /** Sends a recorded, complete draft; a refusal because it is no longer a draft means it was sent. */
  private async sendRecordedDraft(checkpoint: SendCheckpoint): Promise<Sent> {
    try {
      await sendDraft(this.call, checkpoint);
    } catch (error) {
      const definite =
        error instanceof GraphStepError && (error.failure.status === 400 || itemNotFound(error));
      if (definite && (await draftState(this.call, checkpoint)) === "sent") {
        return { kind: "sent", providerMessageId: checkpoint.id, reconciled: true };
      }
      throw error;
    }
    return { kind: "sent", providerMessageId: checkpoint.id };
  }

  private async uploadLarge(draft: SendCheckpoint, attachment: OutboundAttachment): Promise<void> {
    const session = uploadSessionSchema.parse(
      await this.call("uploadSession", (c) =>
        c.api(`${draftPath(draft)}/attachments/createUploadSession`).post({
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

  private async checkpoint(attempt: SendAttempt, checkpoint: SendCheckpoint | undefined): Promise<void> {
    try {
      await attempt.saveCheckpoint(checkpoint);
    } catch (error) {
      throw new CheckpointFailure(error);
    }
  }

  private classify(error: unknown, mailbox: string): SendOutcome {
    if (!(error instanceof GraphStepError))
      return { kind: "transient", code: "unexpected", text: errorText(error) };
    if (tokenRefused(error.failure)) this.forgetToken();
    const outcome = classifyGraphFailure(error.failure, {
      consecutiveThrottles: this.throttles.get(mailbox) ?? 0,
      nowMs: Date.now(),
      random: this.settings.random ?? Math.random,
    });
    if (outcome.kind === "throttled") this.throttles.set(mailbox, (this.throttles.get(mailbox) ?? 0) + 1);
    // sendMail that got no answer, or a gateway error: Graph may have taken it, and nothing can ask it now.
    const unanswered = error.failure.status === undefined || error.failure.status >= 500;
    if (outcome.kind === "transient" && error.failure.step === "sendMail" && unanswered) {
      return { ...outcome, ambiguous: true };
    }
    return outcome;
  }

  /** The next send asks Entra for a new token (and Graph calls stop using the one held here). */
  private forgetToken(): void {
    this.token = undefined;
    this.settings.tokens.invalidate(this.scope);
  }

  private readonly call: GraphCall = async (step, request) => {
    try {
      return await request(this.client);
    } catch (error) {
      throw new GraphStepError(fromGraphError(step, error));
    }
  };
}

/** Graph's send and MIME sendMail always save to Sent Items (https://learn.microsoft.com/graph/api/user-sendmail). */
const keptAnyway = (how: string) =>
  `kept in Sent Items although saveToSentItems is false: ${how} always saves`;

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

/**
 * A refusal a new token can cure: 401 (expired, wrong audience), or 403 `ErrorAccessDenied` (the token's roles
 * lack the permission; granted since, it is in the next token). `ErrorSendAsDenied` is a mailbox right that
 * Exchange checks apart from the token, so it does not count.
 */
function tokenRefused(failure: GraphFailure): boolean {
  return failure.status === 401 || (failure.status === 403 && failure.code === "ErrorAccessDenied");
}
