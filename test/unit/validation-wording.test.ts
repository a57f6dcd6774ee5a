import { describe, expect, it } from "vitest";
import { jsonMessageSchema, messageFieldsSchema } from "../../shared/domain/message.js";
import { ProblemError } from "../../shared/domain/problem.js";
import { validate } from "../../shared/domain/validate.js";
import { messageFieldsFromForm } from "../../shared/intake/form.js";

// What a caller reads in errors[] for each mistake a message can hold: the field as they wrote it and a
// sentence for people, not zod's "Invalid input: expected string, received undefined".
function errorsOf(
  body: unknown,
  schema: typeof jsonMessageSchema | typeof messageFieldsSchema = jsonMessageSchema,
) {
  try {
    validate(schema, body);
  } catch (error) {
    if (error instanceof ProblemError) return { errors: error.errors, detail: error.message };
    throw error;
  }
  throw new Error("expected the message to be refused");
}

const valid = { to: ["alice@contoso.com"], subject: "Hello" };
const example = "2026-05-01T09:30:00Z (UTC) or 2026-05-01T11:30:00+02:00";
const mailboxShapes = 'must be an address: "a@b", "Name <a@b>" or {"address": "a@b", "name": "Name"}';
const contentBytes =
  'the file\'s bytes in base64, or a Power Automate file object {"$content-type", "$content"}';

describe("validation messages", () => {
  it.each([
    ["a missing subject", { to: ["alice@contoso.com"] }, "subject", "is required"],
    ["a subject that is a number", { ...valid, subject: 42 }, "subject", "must be a string"],
    [
      "a subject with CR/LF",
      { ...valid, subject: "Hi\r\nBcc: x@y.z" },
      "subject",
      "must not contain CR, LF or NUL",
    ],
    [
      "a subject too long",
      { ...valid, subject: "x".repeat(999) },
      "subject",
      "is longer than 998 characters",
    ],
    ["no recipient", { subject: "Hello" }, "to", "at least one recipient is required in to, cc or bcc"],
    [
      "recipients as a number",
      { ...valid, to: 5 },
      "to",
      'must be a list of addresses, or one string of addresses separated by "," or ";"',
    ],
    ["a recipient that is a number", { ...valid, cc: [5] }, "cc[0]", mailboxShapes],
    ["a recipient object without address", { ...valid, to: [{ name: "Alice" }] }, "to[0]", mailboxShapes],
    [
      "a malformed address",
      { ...valid, to: ["alice"] },
      "to[0].address",
      '"alice" is not an email address (expected local@domain)',
    ],
    [
      "a display name with a line break",
      { ...valid, to: [{ address: "alice@contoso.com", name: "A\nB" }] },
      "to[0].name",
      "must not contain CR, LF or control characters",
    ],
    ["a from that is a number", { ...valid, from: 7 }, "from", mailboxShapes],
    [
      "a sendAt without a UTC offset",
      { ...valid, sendAt: "2026-05-01T10:00:00" },
      "sendAt",
      `needs a UTC offset (Z or ±hh:mm): without one the time could be in any time zone; e.g. ${example}`,
    ],
    [
      "a sendAt with a date only",
      { ...valid, sendAt: "2026-05-01" },
      "sendAt",
      `needs a time of day and a UTC offset, e.g. ${example}`,
    ],
    [
      "a sendAt in words",
      { ...valid, sendAt: "tomorrow" },
      "sendAt",
      `must be an ISO 8601 time with a UTC offset, e.g. ${example}`,
    ],
    [
      "a sendAt as epoch milliseconds",
      { ...valid, sendAt: 1777629600000 },
      "sendAt",
      `must be a string: an ISO 8601 time with a UTC offset, e.g. ${example}`,
    ],
    [
      "an unknown importance",
      { ...valid, importance: "urgent" },
      "importance",
      "must be one of low, normal, high",
    ],
    [
      "saveToSentItems as text",
      { ...valid, saveToSentItems: "yes" },
      "saveToSentItems",
      "must be true or false",
    ],
    [
      "a callbackUrl that is no URL",
      { ...valid, callbackUrl: "hook" },
      "callbackUrl",
      "must be an absolute URL, e.g. https://example.com/hook",
    ],
    [
      "a header that does not start with X-",
      { ...valid, headers: { Subject: "spoof" } },
      "headers.Subject",
      "a custom header name must start with X-, then letters, digits or '-' (78 characters at most)",
    ],
    [
      "a header value that is a number",
      { ...valid, headers: { "X-Ticket": 5 } },
      "headers.X-Ticket",
      "must be a string",
    ],
    [
      "too many headers",
      { ...valid, headers: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`X-H${i}`, "v"])) },
      "headers",
      "may hold at most 10 custom headers",
    ],
    [
      "a metadata value that is a number",
      { ...valid, metadata: { order: 42 } },
      "metadata.order",
      "must be a string",
    ],
    [
      "a metadata value too long",
      { ...valid, metadata: { note: "x".repeat(257) } },
      "metadata.note",
      "is longer than 256 characters",
    ],
    [
      "a metadata key too long",
      { ...valid, metadata: { ["k".repeat(65)]: "v" } },
      `metadata.${"k".repeat(65)}`,
      "metadata keys are at most 64 characters",
    ],
    ["a text body that is an object", { ...valid, text: {} }, "text", "must be a string"],
    ["attachments as an object", { ...valid, attachments: {} }, "attachments", "must be a list"],
    [
      "an attachment without a name",
      { ...valid, attachments: [{ contentBytes: "AAAA" }] },
      "attachments[0].name",
      "is required",
    ],
    [
      "an attachment without content",
      { ...valid, attachments: [{ name: "a.pdf" }] },
      "attachments[0].contentBytes",
      `is required: ${contentBytes}`,
    ],
    [
      "an attachment whose content is a number",
      { ...valid, attachments: [{ name: "a.pdf", contentBytes: 5 }] },
      "attachments[0].contentBytes",
      `must be ${contentBytes}`,
    ],
    [
      "bad base64",
      { ...valid, attachments: [{ name: "a.pdf", contentBytes: "!!" }] },
      "attachments[0].contentBytes",
      "is not valid base64",
    ],
    ["a body that is a list", [valid], "body", "must be an object"],
  ])("%s", (_case, body, field, message) => {
    const { errors, detail } = errorsOf(body);
    expect(errors).toEqual([{ field, message }]);
    expect(detail).toBe(`${field}: ${message}`);
  });

  it("names an unknown field as itself and lists the known ones", () => {
    const { errors, detail } = errorsOf({ ...valid, priority: "high", bc: ["bob@contoso.com"] });
    expect(errors?.map((e) => e.field)).toEqual(["priority", "bc"]);
    expect(errors?.[0]?.message).toMatch(
      /^is not a known field \(known: from, to, cc, bcc, .*attachments\)$/,
    );
    expect(detail).toMatch(/^priority: is not a known field .* \(and 1 more\)$/);
  });

  it("words a multipart form's mistakes the same way", () => {
    const fields = messageFieldsFromForm(
      new Map([
        ["to", ["alice@contoso.com"]],
        ["sendAt", ["2026-05-01 10:00"]],
        ["priority", ["high"]],
      ]),
    );
    const { errors } = errorsOf(fields, messageFieldsSchema);
    expect(errors).toEqual([
      { field: "subject", message: "is required" },
      {
        field: "sendAt",
        message: `needs a UTC offset (Z or ±hh:mm): without one the time could be in any time zone; e.g. ${example}`,
      },
      { field: "priority", message: expect.stringMatching(/^is not a known field/) },
    ]);
  });
});
