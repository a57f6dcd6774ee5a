import { z } from "zod";
import { addressProblem, senderAllowed } from "../../domain/address.js";
import { ProblemError } from "../../domain/problem.js";
import { type Handler, jsonResponse, type Route } from "../http.js";

/** The answer of `GET /api/v1/mailboxes/{address}/quota`. */
const quotaSchema = z.object({
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

/** Only mailboxes the caller may send as; any other is simply not found (even when it exists). */
const getQuota: Handler = async (request, { services, client }) => {
  const mailbox = (request.params.address ?? "").trim();
  if (addressProblem(mailbox) !== undefined || !senderAllowed(client.senders, mailbox)) {
    throw new ProblemError("notFound", `No mailbox ${mailbox} for this client.`);
  }
  const [view, tenant] = await Promise.all([
    services.pacer.quota(mailbox, client.transport),
    services.tenant.view(),
  ]);
  const iso = (ms: number) => new Date(ms).toISOString();
  return jsonResponse(
    200,
    quotaSchema.parse({
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
    }),
  );
};

export const getQuotaRoute: Route = {
  name: "getQuota",
  methods: ["GET"],
  route: "v1/mailboxes/{address}/quota",
  access: "key",
  handler: getQuota,
  doc: {
    operationId: "GetMailboxQuota",
    summary: "Get mailbox quota",
    description:
      "Messages in the current rolling window, recipients in the last 24 hours, the limits, sends in flight " +
      "and the next free slot of a mailbox the caller may send as, and whether the tenant is over its " +
      "external recipient limit.",
    pathParams: {
      address: { description: "The sending mailbox, e.g. scanner@contoso.com.", schema: z.string() },
    },
    responses: { 200: { description: "The mailbox's usage and limits.", schema: quotaSchema } },
    problems: ["notFound"],
  },
};
