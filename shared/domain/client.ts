import { createHash } from "node:crypto";
import { z } from "zod";
import { addressSchema, senderAllowed, senderPatternSchema } from "./address.js";
import { type TransportName, transportNames } from "./transportName.js";

export { type TransportName, transportNames } from "./transportName.js";

/** Transports that reach only the tenant's own accepted domains: an external recipient is refused at intake. */
export const internalOnlyTransports: ReadonlySet<TransportName> = new Set(["direct", "hve"]);

export const domainSchema = z
  .string()
  .regex(/^(?!-)[a-z0-9-]+(\.[a-z0-9-]+)+$/i, "must be a DNS domain such as contoso.com")
  .transform((d) => d.toLowerCase());

/** One caller of the API, as configured in `MAILHOOK_CLIENTS`. */
export const clientSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'"),
    keySha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "must be the lowercase hex SHA-256 of the key (64 characters)"),
    senders: z.array(senderPatternSchema).min(1, "must list at least one sender"),
    defaultSender: addressSchema.optional(),
    transport: z.enum(transportNames),
    recipientDomains: z.array(domainSchema).optional(),
    saveToSentItems: z.boolean().optional(),
    /** Where `sent` and `failed` are reported (delivery webhooks); a message may name its own. */
    callbackUrl: z.url().max(2048).optional(),
    /** HMAC-SHA256 key signing those reports; at least 32 characters. */
    callbackSecret: z.string().min(32, "must be at least 32 characters").optional(),
    /** Sees and acts on every client's messages and mailboxes (API and console), not only its own. */
    operator: z.boolean().optional(),
  })
  .refine((c) => c.defaultSender === undefined || senderAllowed(c.senders, c.defaultSender), {
    message: "defaultSender is not one of the client's senders",
    path: ["defaultSender"],
  })
  .refine((c) => c.callbackUrl === undefined || c.callbackSecret !== undefined, {
    message: "callbackUrl needs a callbackSecret to sign the reports with",
    path: ["callbackSecret"],
  });
export type Client = z.infer<typeof clientSchema>;

/** `keySha256`: the lowercase hex SHA-256 of the key's UTF-8 bytes (keys themselves are never stored). */
export function sha256Hex(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}
