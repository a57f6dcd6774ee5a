import type { Server } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveRoutes } from "../../dev/httpServer.js";
import { routes } from "../../shared/api/routes.js";
import { silentLogger } from "../../shared/log.js";
import { startTestServices, testClient } from "../support/env.js";
import { multipartBody } from "../support/multipart.js";

// An answer given before the body is read (413, 401) must reach a client that is still sending, through the
// local host's real HTTP server and Node's fetch, as a scanner's or Power Automate's upload would meet it.
const MiB = 1024 * 1024;
const defaultLimitBytes = 35 * MiB;
const { client, key } = testClient();
let env: Awaited<ReturnType<typeof startTestServices>>;
let served: { server: Server; url: string };

beforeAll(async () => {
  env = await startTestServices([client]);
  served = await serveRoutes(routes, "", env.services, silentLogger, 0);
});
afterAll(async () => {
  served?.server.closeAllConnections();
  await new Promise((resolve) => served?.server.close(resolve));
  await env?.stop();
});

const messagesUrl = () => `${served.url}/api/v1/messages`;

/** `totalBytes` of spaces in 1 MiB chunks, with no length known beforehand (sent chunked). */
function chunkedBody(
  totalBytes: number,
  chunk: Buffer = Buffer.alloc(MiB, 0x20),
): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= totalBytes) return controller.close();
      const part = chunk.subarray(0, Math.min(chunk.length, totalBytes - sent));
      sent += part.length;
      controller.enqueue(new Uint8Array(part));
    },
  });
}

async function post(body: Buffer | ReadableStream<Uint8Array>, headers: Record<string, string>) {
  const response = await fetch(messagesUrl(), {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, ...headers },
    body,
    duplex: "half",
  } as RequestInit);
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const tooLargeDetail =
  "The message is larger than the limit of 36700160 bytes (35 MiB); the MAX_MESSAGE_BYTES setting raises it.";

describe("an answer before the body is read", () => {
  it("reaches fetch posting 60 MB with a Content-Length: 413 naming the limit and MAX_MESSAGE_BYTES", async () => {
    const response = await post(Buffer.alloc(60 * MiB, 0x20), { "content-type": "application/json" });
    expect(response.status).toBe(413);
    expect(response.json).toMatchObject({
      type: "urn:mailhook:problem:tooLarge",
      status: 413,
      detail: tooLargeDetail,
      limitBytes: defaultLimitBytes,
      setting: "MAX_MESSAGE_BYTES",
    });
  });

  it("gives the same answer to a chunked JSON body once it passes the limit", async () => {
    const response = await post(chunkedBody(60 * MiB), { "content-type": "application/json" });
    expect(response.status).toBe(413);
    expect(response.json).toMatchObject({ detail: tooLargeDetail, limitBytes: defaultLimitBytes });
  });

  it("gives the same answer to a chunked multipart upload whose file passes the limit", async () => {
    // The form's closing boundary never comes: the file part runs on past the limit.
    const opening = Buffer.concat([
      multipartBody(
        "edge",
        [
          { name: "to", value: "alice@contoso.com" },
          { name: "subject", value: "Scan" },
        ],
        { close: false },
      ),
      Buffer.from(
        '--edge\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n' +
          "Content-Type: application/pdf\r\n\r\n",
      ),
    ]);
    let first = true;
    const rest = chunkedBody(40 * MiB);
    const reader = rest.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (first) {
          first = false;
          return controller.enqueue(new Uint8Array(opening));
        }
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
    });
    const response = await post(body, { "content-type": "multipart/form-data; boundary=edge" });
    expect(response.status).toBe(413);
    expect(response.json).toMatchObject({ detail: tooLargeDetail, limitBytes: defaultLimitBytes });
  });

  it("lets a client with a wrong key finish its upload and read the 401", async () => {
    const response = await fetch(messagesUrl(), {
      method: "POST",
      headers: { authorization: "Bearer mh_wrong", "content-type": "application/json" },
      body: Buffer.alloc(20 * MiB, 0x20),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { status: number }).status).toBe(401);
  });

  /** Declares `declaredBytes`, then writes until done or until the server lets go of the connection. */
  async function rawUpload(declaredBytes: number) {
    const socket = connect(Number(new URL(served.url).port), "127.0.0.1");
    let answer = "";
    let reset = false;
    socket.on("data", (data) => {
      answer += data.toString("latin1");
    });
    socket.on("error", () => {
      reset = true;
    });
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(
      `POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${declaredBytes}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(MiB, 0x20);
    let written = 0;
    while (!socket.destroyed && written < declaredBytes) {
      const flushed = socket.write(chunk);
      written += chunk.length;
      if (!flushed) await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), closed]);
    }
    await closed;
    return { answer, written, reset };
  }

  it("reads the rest of a body it refused, so the client's whole upload goes through before the close", async () => {
    const upload = await rawUpload(60 * MiB);
    expect(upload.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(upload.answer).toContain("MAX_MESSAGE_BYTES");
    expect(upload.answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(upload.written).toBe(60 * MiB);
    expect(upload.reset).toBe(false);
  });

  it("reads and drops at most twice the limit before it closes the connection", async () => {
    const declaredBytes = 200 * MiB;
    const upload = await rawUpload(declaredBytes);
    expect(upload.answer).toMatch(/^HTTP\/1\.1 413 /);
    // The server stopped reading at about 2 × 35 MiB; what was still in socket buffers comes on top of that.
    expect(upload.written).toBeGreaterThanOrEqual(2 * defaultLimitBytes);
    expect(upload.written).toBeLessThan(declaredBytes);
  });
});
