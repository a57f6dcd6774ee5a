import type { z } from "zod";
import { fieldName } from "./message.js";
import { ProblemError } from "./problem.js";

/** Parses `value` with `schema`, or throws a 422 listing every invalid field. */
export function validate<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    field: fieldName(issue.path) || "body",
    message:
      issue.code === "unrecognized_keys" ? `unknown field(s): ${issue.keys.join(", ")}` : issue.message,
  }));
  const first = errors[0];
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  throw new ProblemError("validation", `${first?.field}: ${first?.message}${more}`, { errors });
}
