import { request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveRoutes } from "../../dev/httpServer.js";
import { routes } from "../../shared/api/routes.js";
import { jsonLogger } from "../../shared/log.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { storageContents } from "../support/http.js";

// The local host's HTTP server (dev/httpServer.ts, what `npm start` serves) against callers who do not play
// by the rules.
const { client, key } = testClient();
const lines: { level: string; message: string }[] = [];
const log = jsonLogger((_level, line) => lines.push(JSON.parse(line)));
let env: Awaited<ReturnType<typeof startTestServices>>;
let server: Awaited<ReturnType<typeof serveRoutes>>;

beforeAll(async () => {
  env = await startTestServices([client]);
  server = await serveRoutes(routes, "", env.services, log, 0);
});
afterAll(async () => {
  server?.server.close();
  server?.server.closeAllConnections();
  await env?.stop();
});

function send(path: string, headers: Record<string, string> = {}, body?: Buffer) {
  return new Promise<{ status: number; type: string; json: Record<string, unknown> }>((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method: body ? "POST" : "GET", headers }, (res) => {
      let text = "";
      res.on("data", (chunk) => {
        text += chunk;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers["content-type"]),
          json: JSON.parse(text || "{}"),
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("the local host facing hostile callers", () => {
  it("answers a malformed percent-encoding in the path with 400 problem+json", async () => {
    const response = await send("/api/v1/messages/%E0%A4%A", { authorization: `Bearer ${key}` });
    expect(response.status).toBe(400);
    expect(response.type).toMatch(/^application\/problem\+json/);
    expect(response.json).toMatchObject({ type: "urn:mailhook:problem:badRequest", status: 400 });
    expect(String(response.json.detail)).toContain("%E0%A4%A");
  });

  it("counts failed keys per socket address, whatever X-Forwarded-For says", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const response = await send("/api/v1/messages/x", {
        authorization: "Bearer wrong",
        "x-forwarded-for": `198.51.100.${i}`,
        "client-ip": `203.0.113.${i}`,
      });
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
  });

  /** Sends the start of a POST that announces 10 MB, then drops the connection. */
  async function abandon(contentType: string, start: Buffer): Promise<void> {
    const socket = connect(Number(new URL(server.url).port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(
      "POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        `Authorization: Bearer ${key}\r\nContent-Type: ${contentType}\r\nContent-Length: 10000000\r\n\r\n`,
    );
    socket.write(start);
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
  }

  it.each([
    ["a multipart scan", "multipart/form-data; boundary=abandoned"],
    ["a JSON message", "application/json"],
  ])(
    "logs %s the client abandons as 'client aborted' at info, and keeps nothing of it",
    async (_what, type) => {
      lines.length = 0;
      const start = type.startsWith("multipart")
        ? Buffer.concat([
            Buffer.from(
              '--abandoned\r\nContent-Disposition: form-data; name="to"\r\n\r\nalice@contoso.com\r\n' +
                '--abandoned\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n\r\n',
            ),
            Buffer.alloc(200_000, 0x25),
          ])
        : Buffer.from(`{"to": ["alice@contoso.com"], "subject": "s", "text": "${"x".repeat(200_000)}`);
      await abandon(type, start);
      const deadline = Date.now() + 10_000;
      while (!lines.some((l) => l.message === "client aborted") && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(lines.find((l) => l.message === "client aborted")).toMatchObject({ level: "info" });
      expect(lines.filter((l) => l.level === "error")).toEqual([]);
      expect(await storageContents(storageConnection(), env.names)).toEqual({
        blobs: [],
        queued: 0,
        records: 0,
      });
    },
  );
});
