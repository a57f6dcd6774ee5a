import type { Readable } from "node:stream";
import { z } from "zod";
import { describeNetworkError } from "./client.js";
import type { GraphFailure } from "./outcome.js";
import { type ChunkRange, contentRange, uploadChunkBytes } from "./payload.js";

/** A Graph call that failed, with what the classifier needs. */
export class GraphStepError extends Error {
  constructor(readonly failure: GraphFailure) {
    super(`${failure.step}: ${failure.status ?? failure.code ?? ""} ${failure.message}`);
    this.name = "GraphStepError";
  }
}

/** Re-cuts a stream into `chunkBytes` pieces (the last may be shorter): one chunk in memory, never the file. */
export async function* fixedChunks(stream: Readable, chunkBytes: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const data of stream) {
    let rest: Buffer = Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array);
    while (length + rest.length >= chunkBytes) {
      const take = chunkBytes - length;
      parts.push(rest.subarray(0, take));
      yield Buffer.concat(parts, chunkBytes);
      parts = [];
      length = 0;
      rest = rest.subarray(take);
    }
    if (rest.length > 0) {
      parts.push(rest);
      length += rest.length;
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

const graphErrorBody = z.object({
  error: z.object({ code: z.string().optional(), message: z.string().optional() }),
});

/** Reads a failed answer's Graph error body (when there is one) and Retry-After into a GraphFailure. */
export async function failureFromResponse(
  step: GraphFailure["step"],
  response: Response,
): Promise<GraphFailure> {
  const text = await response.text().catch(() => "");
  let parsed: z.infer<typeof graphErrorBody> | undefined;
  try {
    parsed = graphErrorBody.safeParse(JSON.parse(text)).data;
  } catch {
    parsed = undefined;
  }
  return {
    step,
    status: response.status,
    code: parsed?.error.code,
    message: parsed?.error.message ?? (response.statusText || `HTTP ${response.status}`),
    retryAfter: response.headers.get("retry-after") ?? undefined,
  };
}

/**
 * PUTs a file to an attachment upload session in order, `uploadChunkBytes` at a time (Graph: chunks in
 * multiples of 320 KiB, at most 4 MB, with Content-Range). The uploadUrl carries its own authorization: an
 * Authorization header there is refused, so this is plain fetch, outside the Graph client's middleware.
 */
export async function uploadToSession(
  uploadUrl: string,
  source: Readable,
  totalBytes: number,
  timeoutMs: number,
): Promise<void> {
  let start = 0;
  for await (const chunk of fixedChunks(source, uploadChunkBytes)) {
    const range: ChunkRange = { start, end: start + chunk.length - 1, total: totalBytes };
    if (range.end >= totalBytes) break; // more bytes than announced: stop; checked below
    let response: Response;
    try {
      response = await fetch(uploadUrl, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream", "content-range": contentRange(range) },
        body: chunk,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const e = describeNetworkError(error, timeoutMs);
      throw new GraphStepError({ step: "upload", code: e.name, message: e.message });
    }
    if (!response.ok) throw new GraphStepError(await failureFromResponse("upload", response));
    await response.arrayBuffer();
    start += chunk.length;
  }
  source.destroy();
  if (start !== totalBytes) {
    throw new Error(`attachment stream did not match its size: ${totalBytes} bytes announced, ${start} sent`);
  }
}
