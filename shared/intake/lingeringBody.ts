import { ReadableStream, type ReadableStreamDefaultReader } from "node:stream/web";

/** How long an answered request's leftover body is read and dropped before the connection is let go. */
export interface LingerBound {
  bytes: number;
  ms: number;
}

/**
 * A client that is still sending when the answer comes (a 413 after a declared Content-Length, a 401 before
 * the upload) reads that answer only if the server goes on reading: closing a socket with unread data makes
 * TCP send a reset (RFC 9293 §3.6.1, https://www.rfc-editor.org/rfc/rfc9293#section-3.6.1), and the client
 * sees EPIPE or ECONNRESET instead of the answer. Like nginx's lingering close
 * (https://nginx.org/en/docs/http/ngx_http_core_module.html#lingering_close), the rest is read and dropped,
 * up to twice the message limit or 30 seconds.
 */
export function lingerBound(messageBytes: number): LingerBound {
  return { bytes: 2 * messageBytes, ms: 30_000 };
}

/**
 * A request body as the handler sees it, with the transport's stream behind it. The handler may cancel
 * `stream` (a 413 half way) without cancelling the request: that would reset the connection before the answer
 * is out. Whoever owns the connection calls `discardRest` once the answer is given.
 */
export interface LingeringBody {
  readonly stream: ReadableStream<Uint8Array>;
  /** True once the whole body was read, by the handler or by `discardRest`. */
  readonly ended: boolean;
  /**
   * Reads and drops what is left, within `bound`; true when the body ended, false when the bound (or a
   * failing client) stopped it, in which case the request stream is cancelled.
   */
  discardRest(bound: LingerBound): Promise<boolean>;
}

export function lingeringBody(source: ReadableStream<Uint8Array>): LingeringBody {
  const reader: ReadableStreamDefaultReader<Uint8Array> = source.getReader();
  let ended = false;
  let detached = false;

  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) ended = true;
        if (detached) return;
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel() {
        detached = true;
      },
    },
    // Nothing is read ahead of the handler: a chunk is pulled only when the handler asks for one.
    { highWaterMark: 0 },
  );

  return {
    stream,
    get ended() {
      return ended;
    },
    async discardRest(bound) {
      if (ended) return true;
      detached = true;
      // A read the handler left pending stays queued before ours; what it gets is dropped with the rest.
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), bound.ms);
      });
      let bytes = 0;
      try {
        while (bytes <= bound.bytes) {
          const next = await Promise.race([reader.read(), timedOut]);
          if (next === "timeout") break;
          if (next.done) {
            ended = true;
            return true;
          }
          bytes += next.value.byteLength;
        }
      } catch {
        // The client went away while we were draining; there is nothing left to wait for.
      } finally {
        clearTimeout(timer);
      }
      await reader.cancel().catch(() => {});
      return false;
    },
  };
}
