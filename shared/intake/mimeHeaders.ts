import { simpleParser } from "mailparser";
import { z } from "zod";
import { addressProblem, type Mailbox, normalizeAddress } from "../domain/address.js";
import { invalidField, ProblemError } from "../domain/problem.js";

/** The top-level headers intake decides on: who sends, who is named, what it is about. */
export interface MimeHeaders {
  from: Mailbox[];
  sender?: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo: Mailbox[];
  subject: string;
}

interface ParsedAddress {
  address?: string;
  name?: string;
  group?: ParsedAddress[];
}

// mailparser's address objects (decoded display names, groups), checked as any outside input is.
const parsedAddress: z.ZodType<ParsedAddress> = z.lazy(() =>
  z.object({
    address: z.string().optional(),
    name: z.string().optional(),
    group: z.array(parsedAddress).optional(),
  }),
);
const addressObject = z.object({ value: z.array(parsedAddress) });
const addressField = z.union([addressObject, z.array(addressObject)]).optional();

const controlCharacters = /[\u0000-\u001f\u007f]/g;

/**
 * Parses a top-level header block with mailparser (encoded words, groups, folding), so every address a
 * rule looks at is the one a mail client would show. An address that is not a plain addr-spec is a 422
 * naming its header; `undisclosed-recipients:;` and other empty groups name nobody.
 */
export async function parseMimeHeaders(headerBlock: Buffer): Promise<MimeHeaders> {
  let parsed: Awaited<ReturnType<typeof simpleParser>>;
  try {
    parsed = await simpleParser(headerBlock, {
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipTextLinks: true,
    });
  } catch (error) {
    throw new ProblemError("badRequest", `The message headers cannot be read: ${String(error)}.`, {
      extensions: { field: "body" },
    });
  }
  const field = (name: string, value: unknown) => mailboxes(name, addressField.parse(value));
  const [sender] = field("Sender", parsed.headers.get("sender"));
  return {
    from: field("From", parsed.from),
    ...(sender ? { sender } : {}),
    to: field("To", parsed.to),
    cc: field("Cc", parsed.cc),
    bcc: field("Bcc", parsed.bcc),
    replyTo: field("Reply-To", parsed.replyTo),
    subject: (parsed.subject ?? "").replace(controlCharacters, " ").slice(0, 998),
  };
}

function mailboxes(header: string, value: z.infer<typeof addressField>): Mailbox[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value];
  // A group contributes its members (none for "undisclosed-recipients:;"); a bare word is no address.
  const flat = (list: ParsedAddress[]): ParsedAddress[] =>
    list.flatMap((a) => (a.group ? flat(a.group) : a.address || a.name ? [a] : []));
  return flat(objects.flatMap((o) => o.value)).map((a) => {
    const address = a.address || (a.name ?? "");
    const problem = addressProblem(address);
    if (problem) throw invalidField(header, `${JSON.stringify(address)} ${problem}`);
    const name = a.name?.replace(controlCharacters, " ").trim().slice(0, 256);
    return name ? { address: normalizeAddress(address), name } : { address: normalizeAddress(address) };
  });
}
