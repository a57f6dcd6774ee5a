import { createServer, type IncomingMessage, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import type { ReadableStream } from "node:stream/web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeNamed } from "../../shared/api/routes.js";
import { answerHttp } from "../../shared/host/azure/httpInvocation.js";
import { silentLogger } from "../../shared/log.js";
import { startTestServices, testClient } from "../support/env.js";

// Under Azure Functions with enableHttpStream, the host forwards each request to an HTTP server inside the
// Node worker, and @azure/functions (4.16.5, createStreamRequest and sendProxyResponse) hands the handler
// `new Request(url, { body: incomingMessage, duplex: "half" }).body`, then writes the answer to that
// server's response. This server does the same, so the invocation is tested against the stream it gets there.
const MiB = 1024 * 1024;
const { client, key } = testClient();
let env: Awaited<ReturnType<typeof startTestServices>>;
let worker: Server;
let port: number;

beforeAll(async () => {
  env = await startTestServices([client]);
  const route = routeNamed("submitMessage");
  worker = createServer(async (req: IncomingMessage, res) => {
    const init = { method: req.method, headers: req.headers, body: req, duplex: "half" };
    const native = new Request(`http://127.0.0.1${req.url}`, init as unknown as RequestInit);
    const answer = await answerHttp(
      route,
      {
        method: native.method,
        url: native.url,
        headers: native.headers,
        params: {},
        body: native.body as ReadableStream<Uint8Array> | null,
        source: "127.0.0.1",
      },
      env.services,
      silentLogger,
    );
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => worker.listen(0, "127.0.0.1", resolve));
  port = (worker.address() as AddressInfo).port;
});
afterAll(async () => {
  worker?.closeAllConnections();
  await new Promise((resolve) => worker?.close(resolve));
  await env?.stop();
});

/** Sends `totalBytes` with a Content-Length or chunked, as fast as the server takes them; what came back. */
async function upload(totalBytes: number, framing: "length" | "chunked") {
  const socket = connect(port, "127.0.0.1");
  let answer = "";
  let failure: Error | undefined;
  socket.on("data", (data) => {
    answer += data.toString("latin1");
  });
  socket.on("error", (error) => {
    failure = error;
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const length = framing === "length" ? `Content-Length: ${totalBytes}` : "Transfer-Encoding: chunked";
  socket.write(
    `POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: application/json\r\n${length}\r\n\r\n`,
  );
  const data = Buffer.alloc(MiB, 0x20);
  const chunk =
    framing === "length"
      ? data
      : Buffer.concat([Buffer.from(`${MiB.toString(16)}\r\n`), data, Buffer.from("\r\n")]);
  let written = 0;
  while (!socket.destroyed && written < totalBytes) {
    const flushed = socket.write(chunk);
    written += data.length;
    if (!flushed) await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), closed]);
  }
  if (framing === "chunked" && !socket.destroyed) socket.write("0\r\n\r\n");
  // Give the answer time to arrive on a connection that stays open (keep-alive), then hang up.
  const deadline = Date.now() + 10_000;
  while (!answer.includes("}") && !socket.destroyed && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  socket.end();
  await closed;
  return { answer, written, failure };
}

describe("an early answer inside the Functions worker", () => {
  it.each(["length", "chunked"] as const)(
    "keeps the host's connection to the worker whole (%s): the 413 goes out and the rest is read",
    async (framing) => {
      const sent = await upload(60 * MiB, framing);
      // Every byte was taken: the proxy's copy of the request body would end normally.
      expect(sent.failure).toBeUndefined();
      expect(sent.written).toBe(60 * MiB);
      expect(sent.answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(sent.answer).toContain("MAX_MESSAGE_BYTES");
    },
  );
});
