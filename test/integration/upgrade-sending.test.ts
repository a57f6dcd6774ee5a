import { readdir } from "node:fs/promises";
import { TableClient } from "@azure/data-tables";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { dispatchMessage } from "../../shared/app/dispatchMessage.js";
import { encodeEnvelope } from "../../shared/domain/envelope.js";
import type { StoredMessage } from "../../shared/domain/message.js";
import { silentLogger } from "../../shared/log.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { bearer, call } from "../support/http.js";

// Old and new instances run side by side during a deployment: this release drains a queue and a table
// written by the previous one (status record v1, queue envelope v1), sending each message once.
const { client, key } = testClient();
let env: Awaited<ReturnType<typeof startTestServices>>;
const leaseMs = 2000;

beforeAll(async () => {
  env = await startTestServices([client], { env: { PACING_LEASE_SECONDS: String(leaseMs / 1000) } });
});
afterAll(async () => env?.stop());

type V1Status = "queued" | "scheduled" | "deferred" | "sending" | "sent" | "failed";

/** A message as the previous release stored it: its v1 status entity (same columns) and v1 envelope. */
async function previousRelease(id: string, status: V1Status, updatedAgoMs: number) {
  const at = (ago: number) => new Date(Date.now() - ago).toISOString();
  const message: StoredMessage = {
    v: 1,
    id,
    clientId: client.id,
    from: { address: "scanner@contoso.com" },
    to: [{ address: "alice@contoso.com" }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject: `upgrade ${id}`,
    text: "written by the previous release",
    headers: {},
    attachments: [],
  };
  const record = {
    v: 1,
    id,
    clientId: client.id,
    status,
    transport: "smtp",
    mailbox: "scanner@contoso.com",
    recipients: 1,
    createdAt: at(60_000),
    updatedAt: at(updatedAgoMs),
    attempts: status === "sending" || status === "deferred" || status === "sent" ? 1 : 0,
    ...(status === "deferred" ? { nextAttemptAt: at(1000), reason: "waiting for mailbox capacity" } : {}),
    hasBlobs: false,
    timeline: [{ at: at(60_000), status: "queued" }],
  };
  const table = TableClient.fromConnectionString(storageConnection(), env.names.table, {
    allowInsecureConnection: true,
  });
  await table.createEntity({
    partitionKey: client.id,
    rowKey: id,
    status,
    hasBlobs: false,
    record: JSON.stringify(record),
  });
  await env.storage.queue.send(
    encodeEnvelope({ v: 1, id, clientId: client.id, mailbox: "scanner@contoso.com", recipients: 1, message }),
  );
}

/** Runs the new dispatcher over the queue until it is empty, as the trigger would (failures come back). */
async function drain(timeoutMs: number) {
  const queue = env.storage.queueClient;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 30,
    });
    const { approximateMessagesCount = 0 } = await queue.getProperties();
    if (receivedMessageItems.length === 0 && approximateMessagesCount === 0) return;
    for (const m of receivedMessageItems) {
      const item = JSON.parse(Buffer.from(m.messageText, "base64").toString());
      await dispatchMessage(item, env.dispatchDeps(silentLogger), { queueMessageId: m.messageId });
      await queue.deleteMessage(m.messageId, m.popReceipt);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("the queue did not drain");
}

describe("upgrading from the previous release", () => {
  it("reads its status records and queue envelopes, and sends each of its messages once", async () => {
    await previousRelease("old-queued", "queued", 60_000);
    await previousRelease("old-deferred", "deferred", 30_000);
    // An old instance died mid-send long ago, and another is sending right now (no claim in v1).
    await previousRelease("old-sending-dead", "sending", 60_000);
    await previousRelease("old-sending-live", "sending", 0);
    // Final already: a redelivered envelope changes nothing.
    await previousRelease("old-sent", "sent", 5_000);

    const shown = await call(getMessageRoute, env, { headers: bearer(key), params: { id: "old-queued" } });
    expect(shown.json).toMatchObject({ id: "old-queued", status: "queued" });

    const started = Date.now();
    await drain(30_000);

    const records = await Promise.all(
      ["old-queued", "old-deferred", "old-sending-dead", "old-sending-live", "old-sent"].map((id) =>
        env.services.statuses.get(client.id, id),
      ),
    );
    expect(records.map((r) => [r?.id, r?.v, r?.status])).toEqual([
      ["old-queued", 2, "sent"],
      ["old-deferred", 2, "sent"],
      ["old-sending-dead", 2, "sent"],
      ["old-sending-live", 2, "sent"],
      ["old-sent", 2, "sent"],
    ]);
    // The one an old instance might still be sending was left alone for a lease, then taken over, flagged.
    expect(Date.now() - started).toBeGreaterThanOrEqual(leaseMs - 500);
    expect(records[3]?.possibleDuplicate).toBe(true);
    expect(records[2]?.possibleDuplicate).toBe(true);
    expect(records[0]?.possibleDuplicate).toBeUndefined();

    const delivered = (await readdir(env.outboxDir)).sort();
    expect(delivered).toEqual([
      "old-deferred.eml",
      "old-queued.eml",
      "old-sending-dead.eml",
      "old-sending-live.eml",
    ]);
  }, 60_000);
});
