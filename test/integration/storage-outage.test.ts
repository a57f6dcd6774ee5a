import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../../dev/azurite.js";
import { LocalQueueTrigger } from "../../dev/queueTrigger.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { loadConfig } from "../../shared/config.js";
import type { StatusRecord } from "../../shared/domain/statusRecord.js";
import { type Composed, composeServices } from "../../shared/host/compose.js";
import { queueFunctions } from "../../shared/host/functions.js";
import { jsonLogger } from "../../shared/log.js";
import { testClient, uniqueStorageNames } from "../support/env.js";
import { type FakeGraph, startFakeGraph } from "../support/fakeGraph.js";
import { bearer, call, storageContents } from "../support/http.js";

// Storage goes away for 30 s in the middle of a run (this test's own Azurite, stopped and started again on
// the same ports with its data on disk): intake answers 503 with Retry-After and keeps nothing of what it
// refused; the dispatchers back off and carry on; every accepted message ends sent, once.
const outageMs = 30_000;
const tenantId = "contoso-tenant";
const clientId = "33333333-4444-5555-6666-777777777777";
const clientSecret = randomBytes(16).toString("hex");
const { client, key } = testClient({ transport: "graph" });
const names = uniqueStorageNames();
const warnings: string[] = [];
const log = jsonLogger((level, line) => {
  if (level !== "info") warnings.push(line);
});

let dataDir: string;
let azurite: RunningAzurite;
let graph: FakeGraph;
let composed: Composed;
let triggers: LocalQueueTrigger[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "mailhook-outage-"));
  azurite = await startAzurite({ location: dataDir });
  graph = await startFakeGraph({
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    tenantId,
    clientId,
    clientSecret,
  });
  const config = loadConfig({
    AzureWebJobsStorage: azurite.connectionString,
    MAILHOOK_CLIENTS: JSON.stringify([client]),
    ENTRA_TENANT_ID: tenantId,
    ENTRA_CLIENT_ID: clientId,
    ENTRA_CLIENT_SECRET: clientSecret,
    ENTRA_AUTHORITY_HOST: graph.url,
    GRAPH_ENDPOINT: graph.url,
    MAILBOX_MESSAGES_PER_MINUTE: "6000",
    PACING_LEASE_SECONDS: "10",
  });
  composed = await composeServices(config, { storageNames: names });
  const settings = {
    batchSize: 8,
    newBatchThreshold: 4,
    maxDequeueCount: 5,
    visibilityTimeout: 2000,
    maxPollingInterval: 1000,
    messageEncoding: "base64" as const,
  };
  // The outbound and poison queues, as the Functions host (and the local host) trigger them.
  triggers = queueFunctions
    .filter((fn) => fn.queue !== "webhookQueue")
    .map((fn) => {
      const queue = composed.storage.queueClientFor(names[fn.queue]);
      return new LocalQueueTrigger(
        queue,
        composed.storage.queueClientFor(`${queue.name}-poison`),
        settings,
        (item, delivery) => fn.run(item, delivery, composed, log),
        log,
      );
    });
  for (const trigger of triggers) trigger.start();
});

afterAll(async () => {
  await Promise.all(triggers.map((t) => t.stop()));
  await composed?.close();
  await graph?.stop();
  await azurite?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function submit(n: number) {
  const response = await call(submitMessageRoute, composed, {
    headers: bearer(key, { "content-type": "application/json" }),
    body: JSON.stringify({ to: ["alice@contoso.com"], subject: `outage #${n}`, text: "x" }),
  });
  return { n, status: response.status, id: response.json?.id as string | undefined, response };
}

describe("a storage outage", () => {
  it("is answered 503 at intake, survived by the dispatchers, and loses or doubles nothing", {
    timeout: 240_000,
  }, async () => {
    const accepted = new Map<string, number>();
    let n = 0;
    for (const result of await Promise.all(Array.from({ length: 40 }, () => submit(n++)))) {
      expect(result.status).toBe(202);
      accepted.set(result.id!, result.n);
    }
    const sentBefore = graph.accepted.length;

    // Storage goes away while requests keep coming and sends are under way.
    await azurite.stop();
    const refused: Awaited<ReturnType<typeof submit>>[] = [];
    const outageEnds = Date.now() + outageMs;
    while (Date.now() < outageEnds) {
      const result = await submit(n++);
      if (result.status === 202) accepted.set(result.id!, result.n);
      else refused.push(result);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    azurite = await startAzurite({ location: dataDir, ports: azurite.ports });

    for (const result of await Promise.all(Array.from({ length: 20 }, () => submit(n++)))) {
      expect(result.status).toBe(202);
      accepted.set(result.id!, result.n);
    }

    // During the outage: 503 problem+json with Retry-After, nothing else.
    expect(refused.length).toBeGreaterThan(3);
    expect(sentBefore).toBeLessThan(40);
    for (const { response } of refused) {
      expect(response.status).toBe(503);
      expect(response.headers["Content-Type"]).toMatch(/^application\/problem\+json/);
      expect(response.headers["Retry-After"]).toBe("15");
      expect(response.json).toMatchObject({ type: "urn:mailhook:problem:unavailable", status: 503 });
    }

    // Every accepted message ends sent; the dispatchers complained while storage was away.
    const deadline = Date.now() + 150_000;
    let records: StatusRecord[] = [];
    for (;;) {
      records = (
        await Promise.all([...accepted.keys()].map((id) => composed.services.statuses.get(client.id, id)))
      ).filter((r): r is StatusRecord => r !== undefined);
      if (records.every((r) => r.status === "sent") || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(records.filter((r) => r.status !== "sent").map((r) => `${r.id} ${r.status} ${r.reason}`)).toEqual(
      [],
    );
    expect(records).toHaveLength(accepted.size);
    expect(warnings.some((line) => line.includes("queue poll failed"))).toBe(true);

    // None twice, and nothing of the refused requests anywhere: no record (but the final "not accepted"
    // ones of requests caught in the middle), no queue message, no blob.
    const deliveries = new Map<string, number>();
    for (const a of graph.accepted)
      deliveries.set(a.message.subject, (deliveries.get(a.message.subject) ?? 0) + 1);
    for (const [, i] of accepted) expect(deliveries.get(`outage #${i}`), `outage #${i}`).toBe(1);
    for (const r of refused) expect(deliveries.get(`outage #${r.n}`)).toBeUndefined();
    const left = await storageContents(azurite.connectionString, names);
    expect(left.blobs).toEqual([]);
    expect(left.queued).toBe(0);
    const all = await composed.services.statuses.scanByTime(client.id, { limit: 100 });
    const others = all.entries.map((e) => e.record).filter((r) => !accepted.has(r.id));
    expect(others.every((r) => r.status === "failed" && r.reason?.startsWith("not accepted"))).toBe(true);
    process.stdout.write(
      `storage outage: ${accepted.size} accepted and sent once, ${refused.length} answered 503, ` +
        `${others.length} caught mid-request (failed, "not accepted")\n`,
    );
  });
});
