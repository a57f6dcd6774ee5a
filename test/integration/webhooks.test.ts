import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { deliverWebhook } from "../../shared/app/deliverWebhook.js";
import { dispatchMessage } from "../../shared/app/dispatchMessage.js";
import { ConfigError, loadConfig } from "../../shared/config.js";
import type { Client } from "../../shared/domain/client.js";
import { silentLogger } from "../../shared/log.js";
import { isPrivateAddress, resolveDestination, urlProblem } from "../../shared/webhooks/destination.js";
import { signatureHeader, signatureOf, verifySignature } from "../../shared/webhooks/signature.js";
import { startTestServices, testClient } from "../support/env.js";
import { bearer, call, drainOnce } from "../support/http.js";

const production = { allowHttp: false, allowPrivateNetworks: false };

describe("webhook signatures", () => {
  const secret = "s".repeat(32);
  const body = '{"type":"message.sent"}';

  it("verify over timestamp and body, within the replay window only", () => {
    const header = signatureOf(secret, body, 1_800_000_000);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(verifySignature(secret, body, header, 1_800_000_100)).toBe(true);
    expect(verifySignature(secret, `${body} `, header, 1_800_000_100)).toBe(false);
    expect(verifySignature("t".repeat(32), body, header, 1_800_000_100)).toBe(false);
    expect(verifySignature(secret, body, header, 1_800_000_301)).toBe(false); // a replay, 301 s later
    expect(verifySignature(secret, body, "t=abc,v1=00", 1_800_000_000)).toBe(false);
  });
});

describe("webhook destinations", () => {
  it.each([
    ["127.0.0.1", true],
    ["10.1.2.3", true],
    ["172.20.0.1", true],
    ["192.168.1.10", true],
    ["169.254.169.254", true],
    ["100.64.0.1", true],
    ["::1", true],
    ["fe80::1", true],
    ["fd00::1", true],
    ["::ffff:127.0.0.1", true],
    ["::ffff:7f00:1", true],
    // IPv4 inside IPv6, by transition mechanism: judged by the IPv4 address.
    ["64:ff9b::7f00:1", true], // NAT64 of 127.0.0.1
    ["64:ff9b::a9fe:a9fe", true], // NAT64 of 169.254.169.254
    ["64:ff9b::1432:201", false], // NAT64 of 20.50.2.1
    ["::7f00:1", true], // IPv4-compatible 127.0.0.1
    ["::10.0.0.1", true],
    ["::ffff:0:a00:1", true], // IPv4-translated 10.0.0.1
    ["2002:7f00:1::", true], // 6to4 of 127.0.0.1
    ["2002:c0a8:101::1", true], // 6to4 of 192.168.1.1
    ["2002:1432:201::1", false], // 6to4 of 20.50.2.1
    ["2001:0:1432:201::80ff:fffe", true], // Teredo, client 127.0.0.1 (inverted)
    ["2001:0:a00:1::ebcd:fdfe", true], // Teredo, server 10.0.0.1
    ["2001:0:1432:201::ebcd:fdfe", false], // Teredo, server 20.50.2.1, client 20.50.2.1
    ["64:ff9b:1::1", true], // local-use NAT64
    ["2001:db8::1", true], // documentation
    ["20.50.2.1", false],
    ["2603:1030::1", false],
  ])("%s private: %s", (address, expected) => {
    expect(isPrivateAddress(address)).toBe(expected);
  });

  it.each([
    ["http://hooks.example.com/x", "must use https"],
    ["https://localhost/x", "loopback"],
    ["https://169.254.169.254/latest/meta-data", "loopback, private or link-local"],
    ["https://[::1]:8443/x", "loopback"],
    ["https://[64:ff9b::7f00:1]/x", "loopback"],
    ["https://[::7f00:1]/x", "loopback"],
    ["https://[2002:7f00:1::]/x", "loopback"],
    ["https://user:pw@hooks.example.com/x", "credentials"],
    ["not a url", "is not a URL"],
  ])("refuses %s in production", (url, problem) => {
    expect(urlProblem(url, production)).toContain(problem);
  });

  it("refuses a host name whose DNS answer holds a private address, and pins the address it checked", async () => {
    const dns = async (host: string) =>
      host === "internal.example.com"
        ? [
            { address: "20.50.2.1", family: 4 },
            { address: "10.0.0.7", family: 4 },
          ]
        : [{ address: "20.50.2.9", family: 4 }];
    await expect(resolveDestination("https://internal.example.com/x", production, dns)).rejects.toThrow(
      "resolves to a private address",
    );
    await expect(resolveDestination("https://hooks.example.com/x", production, dns)).resolves.toEqual({
      address: "20.50.2.9",
      family: 4,
    });
  });

  it("refuses a client configured with a private callback unless private networks are allowed", () => {
    const client = {
      ...testClient().client,
      callbackUrl: "https://10.0.0.5/hooks",
      callbackSecret: "x".repeat(32),
    };
    const settings = {
      AzureWebJobsStorage: "UseDevelopmentStorage=true",
      MAILHOOK_CLIENTS: JSON.stringify([client]),
    };
    const env = { ...settings, SMTP_AUTH: "basic", SMTP_PASSWORDS: '{"*":"p"}' };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(loadConfig({ ...env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" }).clients[0]?.callbackUrl).toBe(
      "https://10.0.0.5/hooks",
    );
  });
});

describe("delivery webhooks", () => {
  const secret = "w".repeat(40);
  const received: { body: string; signature: string }[] = [];
  const answers: number[] = [];
  let receiver: Server;
  let env: Awaited<ReturnType<typeof startTestServices>>;
  let key: string;
  let client: Client;

  beforeAll(async () => {
    receiver = createServer({ cert: inject("tlsCert"), key: inject("tlsKey") }, (req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        received.push({ body, signature: String(req.headers[signatureHeader.toLowerCase()]) });
        res.writeHead(answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const url = `https://localhost:${(receiver.address() as AddressInfo).port}/hooks/mailhook`;
    const test = testClient({ callbackUrl: url, callbackSecret: secret });
    key = test.key;
    client = test.client;
    // Loopback is allowed here because the receiver runs on this machine; production refuses it (above).
    env = await startTestServices([test.client], { env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" } });
  });
  afterAll(async () => {
    await env?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  async function drainWebhooks(): Promise<number> {
    const queue = env.storage.webhookQueueClient;
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    for (const message of receivedMessageItems) {
      await deliverWebhook(
        JSON.parse(Buffer.from(message.messageText, "base64").toString()),
        env.webhookDeps(silentLogger),
      );
      await queue.deleteMessage(message.messageId, message.popReceipt);
    }
    return receivedMessageItems.length;
  }

  it("posts a signed report when a message is sent, and retries with backoff when the receiver fails", async () => {
    const submitted = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({ to: ["alice@contoso.com"], subject: "Report me", text: "secret body" }),
    });
    const id = String(submitted.json?.id);
    await drainOnce(env);

    answers.push(503);
    expect(await drainWebhooks()).toBe(1);
    expect(received).toHaveLength(1);
    // The failed delivery is queued again, invisible until its backoff ends.
    const { approximateMessagesCount } = await env.storage.webhookQueueClient.getProperties();
    expect(approximateMessagesCount).toBe(1);
    expect(await drainWebhooks()).toBe(0);

    // The retry itself (as the queue will hand it over after the backoff).
    await deliverWebhook(
      { v: 1, messageId: id, clientId: env.services.config.clients[0]?.id, attempt: 2 },
      env.webhookDeps(silentLogger),
    );
    expect(received).toHaveLength(2);
    const last = received[1]!;
    expect(verifySignature(secret, last.body, last.signature, Math.floor(Date.now() / 1000))).toBe(true);
    const report = JSON.parse(last.body);
    expect(report).toMatchObject({ type: "message.sent", message: { id, status: "sent" } });
    expect(last.body).not.toContain("secret body");
  });

  it("still reports a sent message when queueing the report failed right after the send", async () => {
    const submitted = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({ to: ["alice@contoso.com"], subject: "Report me once", text: "x" }),
    });
    const id = String(submitted.json?.id);
    const { receivedMessageItems } = await env.storage.queueClient.receiveMessages({ visibilityTimeout: 60 });
    const queued = receivedMessageItems.find((m) =>
      Buffer.from(m.messageText, "base64").toString().includes(id),
    )!;
    const item = JSON.parse(Buffer.from(queued.messageText, "base64").toString());
    const deps = env.dispatchDeps(silentLogger);
    // The webhook queue refuses once, right after the send was recorded.
    const flaky = {
      ...deps,
      reports: {
        wanted: deps.reports!.wanted,
        enqueue: () => Promise.reject(new Error("queue unavailable")),
      },
    };
    await expect(dispatchMessage(item, flaky, { queueMessageId: queued.messageId })).rejects.toThrow(
      "queue unavailable",
    );
    expect(await env.services.statuses.get(client.id, id)).toMatchObject({
      status: "sent",
      reportPending: true,
    });
    const before = received.length;

    // The queue hands the message over again: it is final, and its report goes out now.
    await dispatchMessage(item, deps, { queueMessageId: queued.messageId });
    await env.storage.queueClient.deleteMessage(queued.messageId, queued.popReceipt);
    expect((await env.services.statuses.get(client.id, id))?.reportPending).toBeUndefined();
    expect(await drainWebhooks()).toBe(1);
    expect(received.slice(before).map((r) => JSON.parse(r.body).message.id)).toEqual([id]);
  });

  it("refuses a per-message callback to a private address in production settings at intake", async () => {
    const strict = await startTestServices([{ ...env.services.config.clients[0]!, callbackUrl: undefined }]);
    try {
      const response = await call(submitMessageRoute, strict, {
        headers: bearer(key, { "content-type": "application/json" }),
        body: JSON.stringify({
          to: ["alice@contoso.com"],
          subject: "x",
          callbackUrl: "https://169.254.169.254/latest/meta-data",
        }),
      });
      expect(response.status).toBe(422);
      expect(response.json?.errors).toEqual([
        { field: "callbackUrl", message: "must not point at a loopback, private or link-local address" },
      ]);
    } finally {
      await strict.stop();
    }
  });
});
