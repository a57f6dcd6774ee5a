import { z } from "zod";
import { problemTypeUri } from "../domain/problem.js";
import { messageStatuses, publicStatusSchema } from "../domain/statusRecord.js";
import { transportNames } from "../domain/transportName.js";

/**
 * What the API answers besides status records, as zod schemas: the handlers build their answers with them,
 * the OpenAPI document describes them, and the console (which imports this module and the domain's
 * schemas, nothing with Node built-ins) checks what it receives against them.
 */

/** RFC 9457 problem details as `shared/domain/problem.ts` writes them (a test holds the two together). */
export const problemSchema = z.looseObject({
  type: z.string().describe(`A stable URI per kind of error, e.g. ${problemTypeUri("validation")}.`),
  title: z.string(),
  status: z
    .number()
    .int()
    .describe("The HTTP status code of this answer (RFC 9457), never a message's state."),
  detail: z.string(),
  errors: z
    .array(z.object({ field: z.string(), message: z.string() }))
    .optional()
    .describe("One entry per invalid field, e.g. to[2] or attachments[0].contentBytes."),
  messageStatus: z
    .string()
    .optional()
    .describe("The message's state when that state is why the request was refused (409), e.g. sent."),
  limitBytes: z.number().int().optional().describe("The size limit that was exceeded (413), in bytes."),
  setting: z.string().optional().describe("The app setting that changes that limit, e.g. MAX_MESSAGE_BYTES."),
  field: z.string().optional().describe("The request field or header the problem is about."),
  messageId: z.string().optional().describe("The message an Idempotency-Key already belongs to (409)."),
  part: z
    .number()
    .int()
    .optional()
    .describe("The multipart part the problem is about, by its position in the body (1 is the first) (400)."),
});

/** A sending mailbox's usage and limits (`GET /api/v1/mailboxes/{address}/quota`, `GET /api/v1/mailboxes`). */
export const mailboxViewSchema = z.object({
  mailbox: z.string(),
  limits: z.object({
    messagesPerWindow: z
      .number()
      .int()
      .describe("Messages allowed in any rolling window (Exchange Online: 30)."),
    windowSeconds: z.number().describe("Length of the rolling message window (Exchange Online: 60 s)."),
    recipientsPerDay: z.number().int().describe("Recipients allowed in any rolling 24 hours (10,000)."),
    concurrency: z.number().int().describe("Sends at once (SMTP AUTH: 3 connections; Graph: 4 requests)."),
    uploadBytesPerWindow: z
      .number()
      .int()
      .optional()
      .describe("Graph only: bytes uploaded in any rolling upload window (150 MB per 5 minutes)."),
    uploadWindowSeconds: z.number().optional().describe("Graph only: length of the upload window (300 s)."),
  }),
  usage: z.object({
    messagesInWindow: z.number().int().describe("Messages sent or being sent in the current rolling window."),
    recipientsInDay: z.number().int().describe("Recipients of messages sent in the last 24 hours."),
    uploadBytesInWindow: z
      .number()
      .int()
      .optional()
      .describe("Graph only: bytes uploaded in the upload window."),
  }),
  inFlight: z.number().int().describe("Sends in progress now."),
  nextSlotAt: z.string().describe("When a new message could be sent (now, when nothing is waiting)."),
  pausedUntil: z.string().optional().describe("Set while the provider has throttled the mailbox."),
  pauseReason: z.string().optional(),
  tenantExternalPause: z
    .object({
      since: z.string().describe("When Exchange Online first refused external recipients (550 5.7.233)."),
      nextProbeAt: z
        .string()
        .describe("When one message with external recipients tries again (past: the next one that comes)."),
      reason: z.string().describe("Exchange Online's answer."),
    })
    .optional()
    .describe(
      "Set while the tenant is over its external recipient limit for the last 24 hours: messages with " +
        "external recipients wait, from every mailbox; internal mail keeps going.",
    ),
});
export type MailboxView = z.infer<typeof mailboxViewSchema>;

/** The quota view of `shared/pacing` (epoch ms), and the tenant's pause if any, as the API shows it. */
export function toMailboxView(
  mailbox: string,
  view: {
    limits: MailboxView["limits"];
    usage: MailboxView["usage"];
    inFlight: number;
    nextSlotAt: number;
    pausedUntil?: number;
    pauseReason?: string;
  },
  // shared/pacing/tenant.ts's TenantView, restated: this module is also the console's (browser-safe imports only).
  tenant: { externalPausedSince: number; nextProbeAt: number; reason: string } | undefined,
): MailboxView {
  const iso = (ms: number) => new Date(ms).toISOString();
  return mailboxViewSchema.parse({
    mailbox: mailbox.toLowerCase(),
    limits: view.limits,
    usage: view.usage,
    inFlight: view.inFlight,
    nextSlotAt: iso(view.nextSlotAt),
    ...(view.pausedUntil !== undefined ? { pausedUntil: iso(view.pausedUntil) } : {}),
    ...(view.pauseReason !== undefined ? { pauseReason: view.pauseReason } : {}),
    ...(tenant
      ? {
          tenantExternalPause: {
            since: iso(tenant.externalPausedSince),
            nextProbeAt: iso(tenant.nextProbeAt),
            reason: tenant.reason,
          },
        }
      : {}),
  });
}

/** `GET /api/v1/mailboxes`. */
export const mailboxListSchema = z.object({ mailboxes: z.array(mailboxViewSchema) });

/** `GET /api/v1/messages`. */
export const messageListSchema = z.object({
  messages: z.array(publicStatusSchema),
  next: z.url().optional().describe("The next page, when there is one (same filters)."),
});

/** `GET /api/v1/me`: who the key belongs to and what it may see. */
export const callerSchema = z.object({
  clientId: z.string(),
  operator: z.boolean().describe("True for a client marked operator: it sees and acts on every client's."),
  clients: z
    .array(z.object({ id: z.string(), transport: z.enum(transportNames) }))
    .describe("The clients whose messages this key sees: itself, or all for an operator."),
});

const hourSchema = z.object({
  start: z.string().describe("The hour's start (UTC)."),
  sent: z.number().int(),
  failed: z.number().int(),
  deferred: z.number().int(),
});

/** `GET /api/v1/overview`. */
export const overviewSchema = z.object({
  hours: z.array(hourSchema).describe("The last 24 hours, oldest first; the last is the hour now running."),
  backlog: z
    .number()
    .int()
    .optional()
    .describe("Messages waiting in the outbound queue now (approximate); operators only."),
});

/** `POST /api/v1/messages/retry`. */
export const bulkRetryRequestSchema = z.strictObject({
  ids: z.array(z.string().min(1).max(64)).min(1).max(100).describe("Ids of failed messages, at most 100."),
});

export const bulkRetryResultSchema = z.object({
  results: z.array(
    z.union([
      z.object({ id: z.string(), status: z.enum(messageStatuses) }),
      z.object({
        id: z.string(),
        problem: z.object({ type: z.string(), status: z.number().int(), detail: z.string() }),
      }),
    ]),
  ),
});
