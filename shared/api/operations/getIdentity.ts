import { z } from "zod";
import { addressProblem } from "../../domain/address.js";
import { transportNames } from "../../domain/client.js";
import { validate } from "../../domain/validate.js";
import { recipientLimit, senderProblem } from "../../intake/policy.js";
import { bodyLimits } from "../../intake/readMessage.js";
import { type Handler, jsonResponse, type Route } from "../http.js";

const querySchema = z.strictObject({
  sender: z.string().max(254).optional(),
});

/** The answer of `GET /api/v1/identity`. */
const identitySchema = z.object({
  clientId: z.string().describe("The client this key belongs to."),
  transport: z.enum(transportNames).describe("How this client's messages are sent."),
  maxMessageBytes: z
    .number()
    .int()
    .describe("The largest request body accepted (a message/rfc822 body is the MIME itself)."),
  maxRecipientsPerMessage: z.number().int().describe("Envelope recipients allowed in one message."),
  sender: z
    .object({
      address: z.string(),
      allowed: z
        .boolean()
        .describe("Whether a message from this sender (From header and envelope) is accepted."),
      reason: z.string().optional().describe("Why not, when it is not."),
    })
    .optional()
    .describe("The verdict on the sender asked about, when one was."),
});

/**
 * "Who is this key, and may it send as X": what the SMTP edge asks at AUTH and MAIL FROM, so a wrong key or
 * a foreign sender is refused before a device sends 30 MB of DATA. The verdict is the one submitting would
 * give (the same sender rule); a wrong key is the same 401 as everywhere.
 */
const getIdentity: Handler = async (request, { services, client }) => {
  const query = validate(querySchema, Object.fromEntries(new URL(request.url).searchParams));
  const address = query.sender?.trim();
  const verdict = (() => {
    if (address === undefined) return undefined;
    const malformed = addressProblem(address);
    if (malformed) return { address, allowed: false, reason: `${JSON.stringify(address)} ${malformed}` };
    const problem = senderProblem({ address }, client, services.config);
    return problem ? { address, allowed: false, reason: problem.text } : { address, allowed: true };
  })();
  return jsonResponse(
    200,
    identitySchema.parse({
      clientId: client.id,
      transport: client.transport,
      // High Volume Email's own, lower limit caps the MIME as well (its size as Exchange counts it).
      maxMessageBytes:
        client.transport === "hve"
          ? Math.min(bodyLimits(services.config).bodyBytes, services.config.hve.messageBytes)
          : bodyLimits(services.config).bodyBytes,
      maxRecipientsPerMessage: recipientLimit(client, services.config),
      ...(verdict ? { sender: verdict } : {}),
    }),
    // A verdict changes with the configuration only; the edge keeps it briefly itself.
    { "Cache-Control": "private, max-age=60" },
  );
};

export const getIdentityRoute: Route = {
  name: "getIdentity",
  methods: ["GET"],
  route: "api/v1/identity",
  access: "key",
  handler: getIdentity,
  doc: {
    operationId: "GetIdentity",
    summary: "Who is this key",
    description:
      "The client an API key belongs to, its limits and, with ?sender=, whether it may send as that address. " +
      "The SMTP edge asks at AUTH and MAIL FROM, so a device with a wrong key or sender is refused before DATA.",
    queryParams: {
      sender: { description: "An address to ask about, e.g. scanner@contoso.com.", schema: z.string() },
    },
    responses: { 200: { description: "The key's client and the verdict.", schema: identitySchema } },
    problems: ["validation"],
    connector: false,
  },
};
