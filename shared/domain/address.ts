import { z } from "zod";

/** A mailbox address with an optional display name, as Graph's `emailAddress` has it. */
export interface Mailbox {
  address: string;
  name?: string;
}

// RFC 5321 caps: 64 octets local part, 254 for the whole path. We accept dot-atom local parts only
// (no quoted strings): every Microsoft 365 mailbox fits, and it keeps injection out of the grammar.
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domainLabel = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const controlCharacters = /[\u0000-\u001f\u007f]/;

/** Why `address` is not a plain addr-spec, or undefined when it is one. */
export function addressProblem(address: string): string | undefined {
  if (controlCharacters.test(address)) return "must not contain CR, LF or other control characters";
  if (address.length > 254) return "is longer than 254 characters";
  const at = address.lastIndexOf("@");
  if (at <= 0) return "is not an email address (expected local@domain)";
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return "has a local part longer than 64 characters";
  if (!localPart.test(local)) return "has an invalid local part";
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((label) => domainLabel.test(label))) {
    return "has an invalid domain";
  }
  return undefined;
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf("@") + 1).toLowerCase();
}

/** Lower-cases the domain only: local parts are case-sensitive in principle. */
export function normalizeAddress(address: string): string {
  const at = address.lastIndexOf("@");
  return `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

export function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Trims spaces and tabs only: a CR or LF must stay visible so validation rejects it, never be quietly cut. */
export const trimSpaces = (text: string): string => text.replace(/^[ \t]+|[ \t]+$/g, "");

const nameAndAddress = /^[ \t]*(?:"([^"]*)"|([^<"]*?))[ \t]*<([^<>]*)>[ \t]*$/;

/** Splits `"Name <a@b>"`, `Name <a@b>` or `a@b` into a mailbox (not yet validated). */
export function parseMailbox(text: string): Mailbox {
  const match = nameAndAddress.exec(text);
  if (!match) return { address: trimSpaces(text) };
  const name = trimSpaces(match[1] ?? match[2] ?? "");
  const address = trimSpaces(match[3] ?? "");
  return name ? { address, name } : { address };
}

export const addressSchema = z.string().superRefine((value, ctx) => {
  const problem = addressProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} ${problem}` });
});

const displayNameSchema = z
  .string()
  .max(256, "is longer than 256 characters")
  .refine((name) => !controlCharacters.test(name), "must not contain CR, LF or control characters");

/** A recipient in any of the accepted shapes, normalized to a validated `Mailbox`. */
export const mailboxSchema = z
  .union(
    [z.string().transform(parseMailbox), z.object({ address: z.string(), name: z.string().optional() })],
    'must be an address: "a@b", "Name <a@b>" or {"address": "a@b", "name": "Name"}',
  )
  .pipe(z.object({ address: addressSchema, name: displayNameSchema.optional() }))
  .transform((mailbox): Mailbox => {
    const address = normalizeAddress(mailbox.address);
    return mailbox.name ? { address, name: mailbox.name } : { address };
  });

/** `a@x` (exact), `*@x` (any mailbox of a domain) or `*` (any sender; the local development client only). */
export const senderPatternSchema = z.string().superRefine((pattern, ctx) => {
  if (pattern === "*") return;
  const problem = addressProblem(pattern.startsWith("*@") ? `any${pattern.slice(1)}` : pattern);
  if (problem)
    ctx.addIssue({ code: "custom", message: `sender pattern ${JSON.stringify(pattern)} ${problem}` });
});

export function senderAllowed(patterns: readonly string[], address: string): boolean {
  const lower = address.toLowerCase();
  return patterns.some((pattern) => {
    const p = pattern.toLowerCase();
    if (p === "*") return true;
    if (p.startsWith("*@")) return domainOf(lower) === p.slice(2);
    return p === lower;
  });
}
