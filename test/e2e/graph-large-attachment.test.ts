import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sha256Hex } from "../../shared/domain/client.js";
import { type FakeGraph, startFakeGraph } from "../support/fakeGraph.js";
import { type LocalHost, startLocalHost, waitForStatus } from "../support/localHost.js";

const MiB = 1024 * 1024;
const digest = (bytes: Buffer | undefined) =>
  createHash("sha256")
    .update(bytes ?? Buffer.alloc(0))
    .digest("hex");

// The built local host (`node dist/dev/start.js`) with a client on the graph transport, pointed at the
// loopback Graph and Entra ID: msal-node, the Graph client and the upload session run for real.
describe("a client on the graph transport, end to end through the local host", () => {
  const key = `mh_graph_${randomBytes(16).toString("hex")}`;
  let graph: FakeGraph;
  let host: LocalHost;

  beforeAll(async () => {
    graph = await startFakeGraph({
      tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
      tenantId: "contoso-tenant",
      clientId: "app-e2e",
      clientSecret: "e2e-secret",
      mailboxes: ["scanner@contoso.com"],
    });
    host = await startLocalHost({
      env: {
        MAILHOOK_CLIENTS: JSON.stringify([
          {
            id: "mfp",
            keySha256: sha256Hex(key),
            senders: ["scanner@contoso.com"],
            defaultSender: "scanner@contoso.com",
            transport: "graph",
          },
        ]),
        MAILHOOK_DEV_KEY: `mh_dev_${randomBytes(12).toString("hex")}`,
        ENTRA_TENANT_ID: "contoso-tenant",
        ENTRA_CLIENT_ID: "app-e2e",
        ENTRA_CLIENT_SECRET: "e2e-secret",
        ENTRA_AUTHORITY_HOST: graph.url,
        GRAPH_ENDPOINT: graph.url,
      },
    });
  }, 60_000);
  afterAll(async () => {
    await host?.stop();
    await graph?.stop();
  });

  it("delivers a 10 MB PDF through a draft and an upload session, byte-identical", async () => {
    const pdf = Buffer.concat([Buffer.from("%PDF-1.7\n"), randomBytes(10 * MiB)]);
    const form = new FormData();
    form.append("to", "alice@contoso.com");
    form.append("subject", "Scan 10 MB");
    form.append("file", new Blob([pdf], { type: "application/pdf" }), "scan.pdf");
    const response = await fetch(`${host.url}/api/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };

    const record = await waitForStatus(
      { url: host.url, devKey: key },
      id,
      (s) => s === "sent" || s === "failed",
      20_000,
    ).catch(async (error) => {
      throw new Error(`${error}\n${JSON.stringify(graph.requests)}\n${host.output()}`);
    });
    expect(record).toMatchObject({ status: "sent", transport: "graph", attempts: 1 });

    expect(graph.accepted).toHaveLength(1);
    const [sent] = graph.accepted;
    expect(sent).toMatchObject({
      mailbox: "scanner@contoso.com",
      via: "draft",
      message: { subject: "Scan 10 MB", toRecipients: [{ emailAddress: { address: "alice@contoso.com" } }] },
    });
    expect(sent?.attachments.map((a) => [a.name, a.contentType, a.via])).toEqual([
      ["scan.pdf", "application/pdf", "uploadSession"],
    ]);
    expect(digest(sent?.attachments[0]?.bytes)).toBe(digest(pdf));
    const puts = graph.requests.filter((r) => r.method === "PUT");
    expect(puts.length).toBe(4);
    expect(puts.every((r) => !r.authorization && r.bytes <= 4 * MiB)).toBe(true);
  }, 60_000);
});
