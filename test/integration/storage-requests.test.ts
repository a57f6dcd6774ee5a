import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { type CountedRequest, type CountingProxy, startCountingProxy } from "../support/countingProxy.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { bearer, call, drainOnce } from "../support/http.js";

// What one delivered message costs at the storage endpoint (Azurite behind the counting proxy), through the
// real intake and dispatcher with the SMTP transport. The benchmark (`npm run bench -- storage`) measures the
// means under load; this holds the requests that were taken out from coming back.
const { client, key } = testClient();
let proxy: CountingProxy;
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  const port = (service: string) =>
    Number(new RegExp(`${service}Endpoint=http://127\\.0\\.0\\.1:(\\d+)`).exec(storageConnection())?.[1]);
  proxy = await startCountingProxy({
    ports: { blob: port("Blob"), queue: port("Queue"), table: port("Table") },
  });
  env = await startTestServices([client], { env: { AzureWebJobsStorage: proxy.connectionString } });
});
afterAll(async () => {
  await env?.stop();
  await proxy?.stop();
});

async function submit(subject: string): Promise<string> {
  const response = await call(submitMessageRoute, env, {
    headers: bearer(key, { "content-type": "application/json" }),
    body: JSON.stringify({ to: ["alice@contoso.com"], subject, text: "small" }),
  });
  expect(response.status).toBe(202);
  return String(response.json?.id);
}

/** The requests `work` made, by store and operation. */
async function counted(work: () => Promise<unknown>): Promise<Record<string, number>> {
  proxy.reset();
  await work();
  const store = (r: CountedRequest) =>
    r.resource === env.names.table
      ? "status"
      : r.resource === env.names.pacing
        ? "pacing"
        : r.resource === env.names.activity
          ? "activity"
          : r.service;
  const counts: Record<string, number> = {};
  for (const r of proxy.requests()) {
    const name = `${store(r)} ${r.operation}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe("storage requests per delivered message", () => {
  it("costs intake one table transaction and one queue message", async () => {
    expect(await counted(() => submit("intake"))).toEqual({ "status batch": 1, "queue put": 1 });
  });

  it("reads the status record once, writes it twice and touches no blob for a small message", async () => {
    await counted(async () => {
      await submit("first of the mailbox");
      await drainOnce(env);
    });
    await submit("second of the mailbox");
    const dispatch = await counted(() => drainOnce(env));
    // The claim and the outcome are each one transaction under the ETag the read (then the claim) gave.
    expect(dispatch["status read"]).toBe(1);
    expect(dispatch["status batch"]).toBe(2);
    // Nothing was ever stored in Blob storage for it, so nothing is listed or deleted there.
    expect(Object.keys(dispatch).filter((k) => k.startsWith("blob"))).toEqual([]);
    // The mailbox's pacing state is written under the ETag this instance's last write gave: reserve and
    // release, no read.
    expect(dispatch["pacing read"]).toBeUndefined();
    expect(dispatch["pacing update"]).toBe(2);
  });
});
