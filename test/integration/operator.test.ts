import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Route } from "../../shared/api/http.js";
import { cancelMessageRoute } from "../../shared/api/operations/cancelMessage.js";
import { getCallerRoute } from "../../shared/api/operations/getCaller.js";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { getOverviewRoute } from "../../shared/api/operations/getOverview.js";
import { getQuotaRoute } from "../../shared/api/operations/getQuota.js";
import { listMailboxesRoute } from "../../shared/api/operations/listMailboxes.js";
import { listMessagesRoute } from "../../shared/api/operations/listMessages.js";
import { retryMessageRoute } from "../../shared/api/operations/retryMessage.js";
import { retryMessagesRoute } from "../../shared/api/operations/retryMessages.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { listMessages } from "../../shared/app/listMessages.js";
import { loadConfig } from "../../shared/config.js";
import { type Composed, composeServices } from "../../shared/host/compose.js";
import { AzureTableStatusStore } from "../../shared/storage/azure/tableStatusStore.js";
import { MemoryStatusStore } from "../../shared/storage/memory/statusStore.js";
import type { Clock } from "../../shared/storage/ports.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { bearer, call, drainOnce } from "../support/http.js";

// Three clients over one storage account: an operator and two others. The instance `broken` has a wrong
// SMTP password (every send fails with 535 5.7.3); `fixed`, over the same storage, sends.
const operator = testClient({ id: "ops", operator: true, senders: ["*"], defaultSender: "ops@contoso.com" });
const alpha = testClient({
  id: "alpha",
  senders: ["scanner@contoso.com"],
  defaultSender: "scanner@contoso.com",
});
const beta = testClient({ id: "beta", senders: ["*@fabrikam.com"], defaultSender: "billing@fabrikam.com" });
let now = Date.parse("2026-03-02T09:00:00.000Z");
const clock: Clock = { now: () => new Date(now) };
let broken: Awaited<ReturnType<typeof startTestServices>>;
let fixed: Composed;

beforeAll(async () => {
  broken = await startTestServices([operator.client, alpha.client, beta.client], {
    env: { SMTP_PASSWORDS: JSON.stringify({ "*": "wrong" }) },
    clock,
  });
  fixed = await composeServices(loadConfig(broken.settings), { storageNames: broken.names, clock });
});
afterAll(async () => {
  await fixed?.close();
  await broken?.stop();
});

const json = { "content-type": "application/json" };
async function submit(key: string, body: Record<string, unknown>): Promise<string> {
  const response = await call(submitMessageRoute, broken, {
    headers: bearer(key, json),
    body: JSON.stringify({ to: ["alice@contoso.com"], text: "hello", ...body }),
  });
  expect(response.status).toBe(202);
  now += 1000; // one second apart: the listing's order is the order of submission, reversed
  return String(response.json?.id);
}

const get = (route: Route, key: string, path: string) =>
  call(route, broken, { headers: bearer(key), path: `/${path}` });
const ids = (response: { json?: Record<string, unknown> }) =>
  ((response.json?.messages ?? []) as { id: string }[]).map((m) => m.id);

/** Every page of a listing, following `next`, for `key`. */
async function listAll(key: string, query: string): Promise<string[]> {
  const seen: string[] = [];
  let path: string | undefined = `api/v1/messages?${query}`;
  for (let page = 0; page < 20 && path; page++) {
    const response = await get(listMessagesRoute, key, path);
    expect(response.status).toBe(200);
    seen.push(...ids(response));
    const next = response.json?.next as string | undefined;
    path = next ? `${new URL(next).pathname.slice(1)}${new URL(next).search}` : undefined;
  }
  return seen;
}

describe("an operator key", () => {
  const sent = { a1: "", b1: "", a2: "", b2: "", a3: "" };
  beforeAll(async () => {
    sent.a1 = await submit(alpha.key, { subject: "Scan 1", to: ["bob@contoso.com"] });
    sent.b1 = await submit(beta.key, { subject: "Invoice 7", to: ["carol@northwind.com"] });
    sent.a2 = await submit(alpha.key, { subject: "Scan 2" });
    sent.b2 = await submit(beta.key, { subject: "Invoice 8", from: "sales@fabrikam.com" });
    sent.a3 = await submit(alpha.key, { subject: "Scan 3", sendAt: new Date(now + 3600_000).toISOString() });
  });

  it("says who it is and whose messages it sees", async () => {
    const me = await get(getCallerRoute, operator.key, "api/v1/me");
    expect(me.json).toEqual({
      clientId: "ops",
      operator: true,
      clients: [
        { id: "ops", transport: "smtp" },
        { id: "alpha", transport: "smtp" },
        { id: "beta", transport: "smtp" },
      ],
    });
    const them = await get(getCallerRoute, alpha.key, "api/v1/me");
    expect(them.json).toEqual({
      clientId: "alpha",
      operator: false,
      clients: [{ id: "alpha", transport: "smtp" }],
    });
  });

  it("lists every client's messages newest first, page by page, and each client only its own", async () => {
    const everything = [sent.a3, sent.b2, sent.a2, sent.b1, sent.a1];
    expect(await listAll(operator.key, "limit=2")).toEqual(everything);
    expect(await listAll(alpha.key, "limit=2")).toEqual([sent.a3, sent.a2, sent.a1]);
    const first = await get(listMessagesRoute, operator.key, "api/v1/messages?limit=1");
    expect(((first.json?.messages ?? []) as { clientId: string; subject: string }[])[0]).toMatchObject({
      clientId: "alpha",
      subject: "Scan 3",
      recipientAddresses: ["alice@contoso.com"],
    });
  });

  it("filters by client, status, mailbox, time and text", async () => {
    expect(await listAll(operator.key, "client=beta")).toEqual([sent.b2, sent.b1]);
    expect(await listAll(operator.key, "status=scheduled")).toEqual([sent.a3]);
    expect(await listAll(operator.key, "mailbox=SALES@fabrikam.com")).toEqual([sent.b2]);
    expect(await listAll(operator.key, "q=invoice")).toEqual([sent.b2, sent.b1]);
    expect(await listAll(operator.key, "q=northwind")).toEqual([sent.b1]);
    expect(await listAll(operator.key, `q=${sent.a2}`)).toEqual([sent.a2]);
    expect(await listAll(alpha.key, `q=${sent.b1}`)).toEqual([]);
    const since = new Date(Date.parse("2026-03-02T09:00:01.000Z")).toISOString();
    const until = new Date(Date.parse("2026-03-02T09:00:03.000Z")).toISOString();
    expect(await listAll(operator.key, `since=${since}&until=${until}`)).toEqual([sent.a2, sent.b1]);
  });

  it("is refused another client's listing with a client key, and a forged cursor with 422", async () => {
    const refused = await get(listMessagesRoute, alpha.key, "api/v1/messages?client=beta");
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ type: "urn:mailhook:problem:operatorOnly" });
    const forged = Buffer.from(JSON.stringify({ beta: { r: "k:~t~0000000000000~x" } })).toString("base64url");
    const cursor = await get(listMessagesRoute, alpha.key, `api/v1/messages?next=${forged}`);
    expect(cursor.status).toBe(422);
    expect(cursor.json).toMatchObject({ errors: [{ field: "next" }] });
  });

  it("reads and cancels another client's message, and the timeline says it did", async () => {
    const record = await call(getMessageRoute, broken, {
      headers: bearer(operator.key),
      params: { id: sent.a3 },
    });
    expect(record.json).toMatchObject({ id: sent.a3, clientId: "alpha", status: "scheduled" });
    const cancelled = await call(cancelMessageRoute, broken, {
      method: "DELETE",
      headers: bearer(operator.key),
      params: { id: sent.a3 },
    });
    expect(cancelled.status).toBe(200);
    const seenByOwner = await call(getMessageRoute, broken, {
      headers: bearer(alpha.key),
      params: { id: sent.a3 },
    });
    const timeline = seenByOwner.json?.timeline as { status: string; by?: string; at: string }[];
    expect(timeline.at(-1)).toEqual({
      status: "cancelled",
      at: new Date(now).toISOString(),
      detail: "cancel requested",
      by: "ops",
    });
    // A client still cannot see or touch another's.
    expect(
      (await call(getMessageRoute, broken, { headers: bearer(beta.key), params: { id: sent.a3 } })).status,
    ).toBe(404);
  });

  it("retries failed messages of any client, one by one or in bulk, recording who asked", async () => {
    await drainOnce(broken);
    const failed = await listAll(operator.key, "status=failed");
    expect(failed.sort()).toEqual([sent.a1, sent.a2, sent.b1, sent.b2].sort());

    const one = await call(retryMessageRoute, broken, {
      method: "POST",
      headers: bearer(operator.key),
      params: { id: sent.b1 },
    });
    expect(one.status).toBe(202);
    expect(one.json).toMatchObject({ clientId: "beta", status: "queued", reason: "retry requested by ops" });

    const bulk = await call(retryMessagesRoute, broken, {
      method: "POST",
      headers: bearer(operator.key, json),
      body: JSON.stringify({ ids: [sent.a1, sent.b1, sent.a2, "00000000-0000-0000-0000-000000000000"] }),
    });
    expect(bulk.status).toBe(200);
    expect(bulk.json?.results).toEqual([
      { id: sent.a1, status: "queued" },
      { id: sent.b1, problem: expect.objectContaining({ status: 409 }) },
      { id: sent.a2, status: "queued" },
      {
        id: "00000000-0000-0000-0000-000000000000",
        problem: expect.objectContaining({ status: 404, type: "urn:mailhook:problem:notFound" }),
      },
    ]);
    // A client's bulk retry reaches only its own.
    const theirs = await call(retryMessagesRoute, broken, {
      method: "POST",
      headers: bearer(alpha.key, json),
      body: JSON.stringify({ ids: [sent.b2] }),
    });
    expect(theirs.json?.results).toEqual([
      { id: sent.b2, problem: expect.objectContaining({ status: 404 }) },
    ]);

    await drainOnce(fixed);
    for (const id of [sent.a1, sent.a2, sent.b1]) {
      const record = await call(getMessageRoute, fixed, { headers: bearer(operator.key), params: { id } });
      expect(record.json?.status).toBe("sent");
      const timeline = record.json?.timeline as { status: string; by?: string }[];
      expect(timeline.find((e) => e.status === "queued" && e.by)).toMatchObject({ by: "ops" });
    }
  });

  it("refuses a bulk retry that is not a list of ids, precisely", async () => {
    const cases: [Record<string, string>, string, number][] = [
      [json, JSON.stringify({ ids: [] }), 422],
      [json, JSON.stringify({ ids: ["x"], more: 1 }), 422],
      [json, "{", 400],
      [{ "content-type": "text/plain" }, "ids", 415],
    ];
    for (const [headers, body, status] of cases) {
      const response = await call(retryMessagesRoute, broken, {
        method: "POST",
        headers: bearer(operator.key, headers),
        body,
      });
      expect(response.status, body).toBe(status);
      expect(response.headers["Content-Type"]).toMatch(/^application\/problem\+json/);
    }
  });

  it("charts the last 24 hours per hour and, for an operator, the backlog now", async () => {
    const overview = await get(getOverviewRoute, operator.key, "api/v1/overview");
    const hours = overview.json?.hours as { start: string; sent: number; failed: number; deferred: number }[];
    expect(hours).toHaveLength(24);
    expect(hours.at(-1)).toEqual({ start: "2026-03-02T09:00:00.000Z", sent: 3, failed: 4, deferred: 0 });
    expect(hours.slice(0, -1).every((h) => h.sent + h.failed + h.deferred === 0)).toBe(true);
    expect(typeof overview.json?.backlog).toBe("number");
    const theirs = await get(getOverviewRoute, beta.key, "api/v1/overview");
    expect(((theirs.json?.hours ?? []) as { sent: number; failed: number }[]).at(-1)).toMatchObject({
      sent: 1,
      failed: 2,
    });
    expect(theirs.json?.backlog).toBeUndefined();
  });

  it("shows every sending mailbox's usage, and a client only those it may send as", async () => {
    const all = await get(listMailboxesRoute, operator.key, "api/v1/mailboxes");
    const boxes = all.json?.mailboxes as { mailbox: string; usage: { messagesInWindow: number } }[];
    expect(boxes.map((m) => m.mailbox)).toEqual(
      expect.arrayContaining(["scanner@contoso.com", "billing@fabrikam.com", "sales@fabrikam.com"]),
    );
    const mine = await get(listMailboxesRoute, alpha.key, "api/v1/mailboxes");
    expect(((mine.json?.mailboxes ?? []) as { mailbox: string }[]).map((m) => m.mailbox)).toEqual([
      "scanner@contoso.com",
    ]);
    const quota = await call(getQuotaRoute, broken, {
      headers: bearer(operator.key),
      params: { address: "billing@fabrikam.com" },
    });
    expect(quota.status).toBe(200);
    expect(
      (
        await call(getQuotaRoute, broken, {
          headers: bearer(alpha.key),
          params: { address: "billing@fabrikam.com" },
        })
      ).status,
    ).toBe(404);
  });
});

describe("listing across clients when a store query stops early", () => {
  it("keeps one order and loses nothing, whatever each client's scan returned", async () => {
    // A tiny scan budget (one request of two entities): a text search hands back resume points often.
    const table = TableClient.fromConnectionString(storageConnection(), broken.names.table, {
      allowInsecureConnection: true,
    });
    const tight = new AzureTableStatusStore(table, { requests: 1, pageSize: 2 });
    const memory = new MemoryStatusStore();
    const base = Date.parse("2026-04-01T00:00:00.000Z");
    for (let i = 0; i < 30; i++) {
      const clientId = i % 3 === 0 ? "beta" : "alpha";
      const at = new Date(base + i * 1000).toISOString();
      const record = {
        v: 2 as const,
        id: `scan-${String(i).padStart(2, "0")}`,
        clientId,
        status: "sent" as const,
        transport: "smtp" as const,
        mailbox: "scanner@contoso.com",
        recipients: 1,
        subject: i % 4 === 0 ? "needle" : "hay",
        createdAt: at,
        updatedAt: at,
        attempts: 1,
        hasBlobs: false,
        timeline: [],
      };
      await tight.create(record);
      await memory.create(record);
    }
    const config = loadConfig(broken.settings);
    const pages = async (statuses: AzureTableStatusStore | MemoryStatusStore) => {
      const found: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 100; page++) {
        const result = await listMessages(
          operator.client,
          { text: "needle", since: new Date(base) },
          3,
          cursor,
          { statuses, config },
        );
        found.push(...result.records.map((r) => r.id));
        cursor = result.cursor;
        if (!cursor) break;
      }
      return found;
    };
    const expected = ["scan-28", "scan-24", "scan-20", "scan-16", "scan-12", "scan-08", "scan-04", "scan-00"];
    expect(await pages(memory)).toEqual(expected);
    expect(await pages(tight)).toEqual(expected);
  });
});
