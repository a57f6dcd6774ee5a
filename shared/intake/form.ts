import { trimSpaces } from "../domain/address.js";
import { ProblemError } from "../domain/problem.js";

const addressFields = new Set(["to", "cc", "bcc", "replyTo"]);

/**
 * Maps multipart form fields onto the v1 message fields: address fields may repeat or hold comma-separated
 * lists, `X-*` fields become custom headers, `metadata.<key>` fields become metadata, and
 * `saveToSentItems` takes "true" or "false". Unknown fields are kept so validation can name them.
 */
export function messageFieldsFromForm(form: Map<string, string[]>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const headers: Record<string, string> = {};
  const metadata: Record<string, string> = {};
  for (const [name, values] of form) {
    if (addressFields.has(name)) {
      fields[name] = values
        .flatMap((value) => value.split(/[,;]/))
        .map(trimSpaces)
        .filter(Boolean);
      continue;
    }
    if (values.length > 1) {
      throw new ProblemError("validation", `${name}: given ${values.length} times; send it once.`, {
        errors: [{ field: name, message: `given ${values.length} times; send it once` }],
      });
    }
    const value = values[0] ?? "";
    if (/^x-/i.test(name)) headers[name] = value;
    else if (name.startsWith("metadata.")) metadata[name.slice("metadata.".length)] = value;
    else if (name === "saveToSentItems")
      fields[name] = value === "true" ? true : value === "false" ? false : value;
    else fields[name] = value;
  }
  if (Object.keys(headers).length > 0) fields.headers = headers;
  if (Object.keys(metadata).length > 0) fields.metadata = metadata;
  return fields;
}
