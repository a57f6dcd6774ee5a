import { z } from "zod";
import { fieldName } from "./message.js";
import { type FieldError, ProblemError } from "./problem.js";

const kinds: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "an object",
  record: "an object",
};

/**
 * Wording for people where zod words for programmers ("Invalid input: expected string, received undefined").
 * Schemas that know better (an address, sendAt) carry their own message, which takes precedence.
 */
const peopleWording: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      return `must be ${kinds[issue.expected] ?? issue.expected}`;
    case "too_big":
      if (issue.origin === "string") return `is longer than ${issue.maximum} characters`;
      if (issue.origin === "array") return `has more than ${issue.maximum} entries`;
      return `is larger than ${issue.maximum}`;
    case "too_small":
      if (issue.origin === "string") return `must be at least ${issue.minimum} characters`;
      return `is smaller than ${issue.minimum}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => String(v)).join(", ")}`;
    case "invalid_format":
      return issue.format === "url" ? "must be an absolute URL, e.g. https://example.com/hook" : undefined;
    case "unrecognized_keys": {
      const known = issue.inst instanceof z.ZodObject ? Object.keys(issue.inst.shape) : [];
      return known.length > 0 ? `is not a known field (known: ${known.join(", ")})` : "is not a known field";
    }
    default:
      return undefined;
  }
};

/** Zod issues as one error per field; an unknown field is named as itself, e.g. `priority`. */
function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.flatMap((issue): FieldError[] => {
    if (issue.code === "unrecognized_keys")
      return issue.keys.map((key) => ({ field: fieldName([...issue.path, key]), message: issue.message }));
    // A record's key (a custom header name, a metadata key) carries its own rule's message inside.
    const message =
      issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return [{ field: fieldName(issue.path) || "body", message }];
  });
}

/** Parses `value` with `schema`, or throws a 422 listing every invalid field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value, { error: peopleWording });
  if (result.success) return result.data;
  const errors = fieldErrors(result.error.issues);
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  throw new ProblemError("validation", `${first?.field}: ${first?.message}${more}`, { errors });
}
