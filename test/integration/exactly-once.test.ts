import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { cancelMessageRoute } from "../../shared/api/operations/cancelMessage.js";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { dispatchMessage } from "../../shared/app/dispatchMessage.js";
import { failMessage } from "../../shared/app/failMessage.js";
import type { StatusRecord } from "../../shared/domain/statusRecord.js";
import { silentLogger } from "../../shared/log.js";
import { startTestServices, testClient } from "../support/env.js";
import { type FakeGraph, startFakeGraph } from "../support/fakeGraph.js";
import { bearer, call } from "../support/http.js";

// The dispatcher with the Graph transport against Azurite and the loopback Graph: one message, one email,
// whatever is redelivered, duplicated or lost on the way back.
const tenantId = "contoso-tenant";
const clientId = "22222222-3333-4444-5555-666666666666";
const clientSecret = randomBytes(16).toString("hex");
const { client, key } = testClient({ transport: "graph" });
let graph: FakeGraph;
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  graph = await startFakeGraph({
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    tenantId,
    clientId,
    clientSecret,
    sendDelayMs: 300,
  });
  env = await startTestServices([client], {
    env: {
      ENTRA_TENANT_ID: tenantId,
      ENTRA_CLIENT_ID: clientId,
      ENTRA_CLIENT_SECRET: clientSecret,
      ENTRA_AUTHORITY_HOST: graph.url,
      GRAPH_ENDPOINT: graph.url,
      PACING_LEASE_SECONDS: "2",
    },
  });
});
afterAll(async () => {
  await env?.stop();
  await graph?.stop();
});

async function submit(subject: string): Promise<string> {
  const response = await call(submitMessageRoute, env, {
    headers: bearer(key, { "content-type": "application/json" }),
    body: JSON.stringify({ to: ["alice@contoso.com"], subject, text: "once" }),
  });
  expect(response.status).toBe(202);
  return String(response.json?.id);
}

/**
 * Takes the queue message for message `id` off the queue, as a trigger would fetch it (waiting up to
 * `waitMs` for it to become visible); other messages are left visible.
 */
async function takeQueued(
  id: string,
  waitMs = 0,
): Promise<{ item: unknown; text: string; queueMessageId: string }> {
  const queue = env.storage.queueClient;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({
      numberOfMessages: 32,
      visibilityTimeout: 60,
    });
    for (const message of receivedMessageItems) {
      const text = message.messageText;
      const item = JSON.parse(Buffer.from(text, "base64").toString()) as { id: string };
      if (item.id === id) {
        await queue.deleteMessage(message.messageId, message.popReceipt);
        for (const other of receivedMessageItems.filter((m) => m !== message))
          await queue.updateMessage(other.messageId, other.popReceipt, undefined, 0);
        return { item, text, queueMessageId: message.messageId };
      }
    }
    for (const other of receivedMessageItems)
      await queue.updateMessage(other.messageId, other.popReceipt, undefined, 0);
    if (Date.now() > deadline) throw new Error(`no queue message for ${id}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const record = (id: string) => env.services.statuses.get(client.id, id) as Promise<StatusRecord>;
const deliveredSubjects = (subject: string) =>
  graph.accepted.filter((a) => a.message.subject === subject).length;
const dispatch = (item: unknown, queueMessageId: string) =>
  dispatchMessage(item, env.dispatchDeps(silentLogger), { queueMessageId });

describe("exactly once through Graph", () => {
  it("sends once when Graph took the send but the answer was lost, and says so", async () => {
    const id = await submit("lost answer");
    const { item, queueMessageId } = await takeQueued(id);
    graph.inject({ method: "POST", path: /\/send$/, afterAccept: "reset" });
    await expect(dispatch(item, queueMessageId)).rejects.toThrow(/transient/);
    const deferred = await record(id);
    expect(deferred).toMatchObject({
      status: "deferred",
      checkpoint: { kind: "graphDraft", complete: true },
    });

    // The queue hands the same message over again.
    await dispatch(item, queueMessageId);
    const sent = await record(id);
    expect(sent).toMatchObject({ status: "sent", attempts: 2, providerMessageId: deferred.checkpoint?.id });
    expect(sent.checkpoint).toBeUndefined();
    expect(sent.timeline.at(-1)?.detail).toMatch(/earlier attempt had sent it/);
    expect(deliveredSubjects("lost answer")).toBe(1);
  });

  it("lets a second queue message for the same message wait for the claim, then drops it", async () => {
    const id = await submit("two copies");
    const { item, text, queueMessageId } = await takeQueued(id);
    await env.storage.queue.send(text); // a crash left a second copy on the queue
    const copy = await takeQueued(id);
    const [first, second] = await Promise.allSettled([
      dispatch(item, queueMessageId),
      // Starts while the first holds the claim (Graph answers after 300 ms).
      new Promise((resolve) => setTimeout(resolve, 150)).then(() => dispatch(copy.item, copy.queueMessageId)),
    ]);
    expect([first.status, second.status]).toEqual(["fulfilled", "fulfilled"]);
    expect((await record(id)).status).toBe("sent");
    // The copy came back for after the claim; now it finds the message final.
    const requeued = await takeQueued(id, 5000);
    await dispatch(requeued.item, requeued.queueMessageId);
    expect(deliveredSubjects("two copies")).toBe(1);
  });

  it("takes over an expired claim by asking Graph about the recorded draft first", async () => {
    const id = await submit("dead dispatcher");
    const { item, queueMessageId } = await takeQueued(id);
    // A dispatcher recorded its draft, Graph sent it, and the dispatcher died before recording the outcome.
    graph.inject({ method: "POST", path: /\/send$/, afterAccept: "reset" });
    await expect(dispatch(item, queueMessageId)).rejects.toThrow(/transient/);
    await env.services.statuses.update(client.id, id, (r) => ({
      ...r,
      status: "sending",
      claim: { owner: "dead", expiresAt: new Date(Date.now() + 1500).toISOString() },
    }));
    // Another copy: the claim is live, so it waits; once expired, it reconciles and sends nothing new.
    await dispatch(item, "another-copy");
    expect((await record(id)).status).toBe("sending");
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await dispatch(item, "another-copy");
    expect(await record(id)).toMatchObject({ status: "sent" });
    expect(deliveredSubjects("dead dispatcher")).toBe(1);
    // The copy put back while the claim was live finds the message final.
    const putBack = await takeQueued(id, 5000);
    await dispatch(putBack.item, putBack.queueMessageId);
    expect(deliveredSubjects("dead dispatcher")).toBe(1);
  });

  it("deletes the draft of a cancelled message, and refuses the cancel of one Graph had sent", async () => {
    const unsent = await submit("cancel me");
    const a = await takeQueued(unsent);
    graph.inject({ method: "POST", path: /\/send$/, reset: true });
    await expect(dispatch(a.item, a.queueMessageId)).rejects.toThrow(/transient/);
    const draftId = (await record(unsent)).checkpoint?.id;
    const cancelled = await call(cancelMessageRoute, env, {
      method: "DELETE",
      headers: bearer(key),
      params: { id: unsent },
    });
    expect(cancelled.json).toMatchObject({ status: "cancelled" });
    expect(graph.deletedDrafts).toContain(draftId);
    expect(deliveredSubjects("cancel me")).toBe(0);

    const sentAnyway = await submit("too late");
    const b = await takeQueued(sentAnyway);
    graph.inject({ method: "POST", path: /\/send$/, afterAccept: "reset" });
    await expect(dispatch(b.item, b.queueMessageId)).rejects.toThrow(/transient/);
    const refused = await call(cancelMessageRoute, env, {
      method: "DELETE",
      headers: bearer(key),
      params: { id: sentAnyway },
    });
    expect(refused.status).toBe(409);
    const shown = await call(getMessageRoute, env, { headers: bearer(key), params: { id: sentAnyway } });
    expect(shown.json).toMatchObject({ status: "sent" });
    expect(shown.json).not.toHaveProperty("checkpoint");
    expect(deliveredSubjects("too late")).toBe(1);
  });

  it("deletes the draft of a message that fails for good (poison queue)", async () => {
    const id = await submit("give up");
    const { item, text, queueMessageId } = await takeQueued(id);
    graph.inject({ method: "POST", path: /\/send$/, reset: true });
    await expect(dispatch(item, queueMessageId)).rejects.toThrow(/transient/);
    const draftId = (await record(id)).checkpoint?.id;
    await failMessage(text, 5, env.dispatchDeps(silentLogger));
    const failed = await record(id);
    expect(failed).toMatchObject({ status: "failed" });
    expect(failed.checkpoint).toBeUndefined();
    expect(graph.deletedDrafts).toContain(draftId);
  });
});
