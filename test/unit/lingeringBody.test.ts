import { Readable } from "node:stream";
import { ReadableStream } from "node:stream/web";
import { describe, expect, it } from "vitest";
import { limitedBody } from "../../shared/intake/body.js";
import { lingerBound, lingeringBody } from "../../shared/intake/lingeringBody.js";

/** A request stream that sends `chunks` chunks of 1 KiB (forever when undefined), recording a cancel. */
function requestStream(chunks?: number) {
  let sent = 0;
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (chunks !== undefined && sent >= chunks) return controller.close();
      sent++;
      controller.enqueue(new Uint8Array(1024));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, sent: () => sent, cancelled: () => cancelled };
}

describe("lingeringBody", () => {
  it("bounds the drain at twice the message limit and 30 seconds", () => {
    expect(lingerBound(35 * 1024 * 1024)).toEqual({ bytes: 70 * 1024 * 1024, ms: 30_000 });
  });

  it("lets a handler stop at the size limit without cancelling the request, then drains the rest", async () => {
    const request = requestStream(100);
    const body = lingeringBody(request.stream);
    const read = limitedBody(body.stream, { bodyBytes: 10 * 1024, messageBytes: 8 * 1024 });
    await expect(Readable.from(read).toArray()).rejects.toMatchObject({ status: 413 });
    expect(request.cancelled()).toBe(false);
    expect(request.sent()).toBeLessThan(100);

    expect(await body.discardRest({ bytes: 1024 * 1024, ms: 5_000 })).toBe(true);
    expect(request.sent()).toBe(100);
    expect(body.ended).toBe(true);
  });

  it("reads nothing ahead of the handler", async () => {
    const request = requestStream(100);
    const body = lingeringBody(request.stream);
    const reader = body.stream.getReader();
    await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // The underlying stream's own queue may hold one more chunk; the wrapper asks for no further ones.
    expect(request.sent()).toBeLessThanOrEqual(2);
  });

  it("stops draining at the byte bound and cancels the request", async () => {
    const request = requestStream();
    const body = lingeringBody(request.stream);
    expect(await body.discardRest({ bytes: 64 * 1024, ms: 5_000 })).toBe(false);
    expect(request.cancelled()).toBe(true);
    expect(request.sent()).toBeLessThan(100);
  });

  it("stops draining at the time bound when the client stalls", async () => {
    const stalled = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) });
    const body = lingeringBody(stalled);
    expect(await body.discardRest({ bytes: 1024 * 1024, ms: 50 })).toBe(false);
  });

  it("says the body ended when the handler read all of it", async () => {
    const request = requestStream(3);
    const body = lingeringBody(request.stream);
    expect(await Readable.fromWeb(body.stream).toArray()).toHaveLength(3);
    expect(body.ended).toBe(true);
    expect(await body.discardRest({ bytes: 0, ms: 0 })).toBe(true);
  });
});
