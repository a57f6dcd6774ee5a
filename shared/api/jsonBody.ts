import { buffer } from "node:stream/consumers";
import type { z } from "zod";
import { ProblemError } from "../domain/problem.js";
import { validate } from "../domain/validate.js";
import { limitedBody } from "../intake/body.js";
import type { ApiRequest } from "./http.js";

// Bodies other than messages are small requests (a list of ids); anything longer is not one.
const maxJsonBytes = 64 * 1024;

/** A small JSON request body checked against `schema`: 415, 413, 400 or 422 when it is not. */
export async function readJsonBody<T extends z.ZodType>(request: ApiRequest, schema: T): Promise<z.infer<T>> {
  const mediaType = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") {
    throw new ProblemError("unsupportedMediaType", "Send the body as application/json.", {
      headers: { "Accept-Post": "application/json" },
    });
  }
  const bytes = await buffer(
    limitedBody(request.body, { bodyBytes: maxJsonBytes, messageBytes: maxJsonBytes }),
  ).catch((error: unknown) => {
    // Not a message: MAX_MESSAGE_BYTES does not apply, this fixed limit does.
    if (error instanceof ProblemError && error.kind === "tooLarge")
      throw new ProblemError("tooLarge", `The body is larger than ${maxJsonBytes} bytes.`, {
        extensions: { limitBytes: maxJsonBytes },
      });
    throw error;
  });
  return validate(schema, parseJson(bytes));
}

/** A JSON body as a value: 400 when it is not UTF-8 or not JSON. */
function parseJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ProblemError("badRequest", "The body is not valid UTF-8.");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ProblemError("badRequest", `The body is not valid JSON: ${(error as Error).message}`);
  }
}
