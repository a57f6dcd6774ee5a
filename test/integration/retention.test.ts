import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { purgeExpired } from "../../shared/app/purgeExpired.js";
import type { StatusRecord } from "../../shared/domain/statusRecord.js";
import { silentLogger } from "../../shared/log.js";
import { startTestServices, testClient } from "../support/env.js";

const { client } = testClient();
let env: Awaited<ReturnType<typeof startTestServices>>;
const day = 24 * 3600 * 1000;

beforeAll(async () => {
  env = await startTestServices([client]);
});
afterAll(async () => env?.stop());

function record(id: string, status: StatusRecord["status"], hasBlobs: boolean): StatusRecord {
  const at = new Date().toISOString();
  return {
    v: 2,
    id,
    clientId: client.id,
    status,
    transport: "smtp",
    mailbox: "scanner@contoso.com",
    recipients: 1,
    createdAt: at,
    updatedAt: at,
    attempts: 1,
    hasBlobs,
    timeline: [],
  };
}

const purgeAt = (offsetMs: number) =>
  purgeExpired({
    ...env.services,
    clock: { now: () => new Date(Date.now() + offsetMs) },
    log: silentLogger,
  });

describe("retention", () => {
  it("drops failed messages' content first, then final records, and never touches live messages", async () => {
    const { statuses, messages, idempotency } = env.services;
    await statuses.create(record("r-sent", "sent", false));
    await statuses.create(record("r-failed", "failed", true));
    await statuses.create(record("r-queued", "queued", true));
    await messages.upload("r-failed/envelope.json", Buffer.from("{}"), "application/json");
    await messages.upload("r-queued/attachments/0", Buffer.from("x"), "application/pdf");
    await idempotency.claim(
      client.id,
      "k1",
      { v: 1, messageId: "r-sent", fingerprint: "f", createdAt: new Date().toISOString() },
      new Date(),
    );

    // Eight days on: past the 7 days failed content is kept, within the 30 days records are kept.
    const week = await purgeAt(8 * day);
    expect(week).toMatchObject({ failedContent: 1, records: 0, idempotencyKeys: 1 });
    expect(await messages.list("r-failed")).toEqual([]);
    expect((await statuses.get(client.id, "r-failed"))?.hasBlobs).toBe(false);

    const month = await purgeAt(31 * day);
    expect(month.records).toBe(2);
    expect(await statuses.get(client.id, "r-sent")).toBeUndefined();
    expect(await statuses.get(client.id, "r-failed")).toBeUndefined();
    expect((await statuses.get(client.id, "r-queued"))?.status).toBe("queued");
    expect(await messages.list("r-queued")).toEqual(["r-queued/attachments/0"]);
  });
});
