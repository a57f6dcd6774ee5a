import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { TableClient } from "@azure/data-tables";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { retryMessageRoute } from "../../shared/api/operations/retryMessage.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { bearer, call, drainOnce } from "../support/http.js";

// The queue, the dead letters and the status table as the previous release left them: this release must
// drain and retry them (old and new instances run side by side during a deployment).
const { client, key } = testClient();
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  env = await startTestServices([client]);
});
afterAll(async () => env?.stop());

/** A status record exactly as the previous release wrote it (version 1). */
function oldRecord(id: string, status: "queued" | "failed" = "queued") {
  const at = new Date().toISOString();
  return {
    v: 1 as const,
    id,
    clientId: client.id,
    status,
    transport: "smtp" as const,
    mailbox: "scanner@contoso.com",
    recipients: 1,
    createdAt: at,
    updatedAt: at,
    attempts: status === "failed" ? 5 : 0,
    hasBlobs: status === "failed",
    timeline: [{ at, status }],
  };
}

/** A composed message in the previous release's shape: no `kind`, no contentId/inline on attachments. */
function oldMessage(id: string, subject: string) {
  return {
    v: 1,
    id,
    clientId: client.id,
    from: { address: "scanner@contoso.com" },
    to: [{ address: "alice@contoso.com" }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject,
    text: "written by the previous release",
    headers: {},
    attachments: [
      {
        name: "a.txt",
        contentType: "text/plain",
        size: 3,
        sha256: "x",
        contentBase64: Buffer.from("abc").toString("base64"),
      },
    ],
  };
}

const oldEnvelope = (id: string, fields: object) => ({
  v: 1,
  id,
  clientId: client.id,
  mailbox: "scanner@contoso.com",
  recipients: 1,
  ...fields,
});

/** Writes a status entity as the previous release's table store did (columns status, hasBlobs, record). */
async function writeOldRecord(record: ReturnType<typeof oldRecord>): Promise<void> {
  const table = TableClient.fromConnectionString(storageConnection(), env.names.table, {
    allowInsecureConnection: true,
  });
  await table.createEntity({
    partitionKey: record.clientId,
    rowKey: record.id,
    status: record.status,
    hasBlobs: record.hasBlobs,
    record: JSON.stringify(record),
  });
}

const base64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

describe("what the previous release wrote", () => {
  it("drains queue messages in the old shape, inline and claim-checked", async () => {
    const inline = randomUUID();
    const checked = randomUUID();
    await writeOldRecord(oldRecord(inline));
    await writeOldRecord(oldRecord(checked));
    await env.storage.queue.send(base64(oldEnvelope(inline, { message: oldMessage(inline, "old inline") })));
    await env.services.messages.upload(
      `${checked}/message.json`,
      Buffer.from(JSON.stringify(oldMessage(checked, "old claim check"))),
      "application/json",
    );
    await env.storage.queue.send(base64(oldEnvelope(checked, { messageBlob: `${checked}/message.json` })));

    expect(await drainOnce(env)).toBe(2);
    for (const [id, subject] of [
      [inline, "old inline"],
      [checked, "old claim check"],
    ] as const) {
      const status = await call(getMessageRoute, env, { headers: bearer(key), params: { id } });
      expect(status.json).toMatchObject({ status: "sent", attempts: 1 });
      const mail = await simpleParser(await readFile(join(env.outboxDir, `${id}.eml`)));
      expect(mail.subject).toBe(subject);
      expect(mail.attachments[0]?.content.toString()).toBe("abc");
    }
  });

  it("retries a dead letter the previous release kept", async () => {
    const id = randomUUID();
    await writeOldRecord(oldRecord(id, "failed"));
    await env.services.messages.upload(
      `${id}/envelope.json`,
      Buffer.from(JSON.stringify(oldEnvelope(id, { message: oldMessage(id, "old dead letter") }))),
      "application/json",
    );
    const retried = await call(retryMessageRoute, env, { headers: bearer(key), params: { id } });
    expect(retried.status).toBe(202);
    await drainOnce(env);
    const status = await call(getMessageRoute, env, { headers: bearer(key), params: { id } });
    expect(status.json).toMatchObject({ status: "sent" });
  });
});
