import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { LocalQueueTrigger } from "../../dev/queueTrigger.js";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { getQuotaRoute } from "../../shared/api/operations/getQuota.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { unpausedBeliefMs } from "../../shared/app/tenantPacer.js";
import { type Composed, composeServices } from "../../shared/host/compose.js";
import { startTestServices, testClient } from "../support/env.js";
import { bearer, call } from "../support/http.js";
import { type SmtpPeer, startSmtpPeer } from "../support/smtpPeer.js";
import { triggerFor } from "../support/trigger.js";

// The tenant external recipient limit end to end: Azurite, two instances, the queue trigger, and an SMTP
// peer that answers 550 5.7.233 at RCPT once the tenant's external allowance is spent.
const password = randomBytes(12).toString("hex");
const { client, key } = testClient({
  senders: ["scanner@contoso.com"],
  defaultSender: "scanner@contoso.com",
});
let peer: SmtpPeer;
let env: Awaited<ReturnType<typeof startTestServices>>;
let other: Composed;
let triggers: LocalQueueTrigger[] = [];

beforeAll(async () => {
  peer = await startSmtpPeer({
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    auth: { passwords: { "scanner@contoso.com": password } },
    tenant: { acceptedDomains: ["contoso.com"], externalRecipientsPerDay: 1 },
  });
  env = await startTestServices([client], {
    env: {
      SMTP_HOST: "localhost",
      SMTP_PORT: String(peer.port),
      SMTP_AUTH: "basic",
      SMTP_PASSWORDS: JSON.stringify({ "*": password }),
      ACCEPTED_DOMAINS: "contoso.com",
      // 6 s between probes, so the test sees several.
      TENANT_EXTERNAL_PROBE_MINUTES: "0.1",
      PACING_LEASE_SECONDS: "30",
    },
  });
  other = await composeServices(env.services.config, { storageNames: env.names });
  triggers = [env, other].map(triggerFor);
  for (const trigger of triggers) trigger.start();
});

afterAll(async () => {
  await Promise.all(triggers.map((t) => t.stop()));
  await other?.close();
  await env?.stop();
  await peer?.stop();
});

async function submit(to: string[], subject: string): Promise<string> {
  const response = await call(submitMessageRoute, env, {
    headers: bearer(key, { "content-type": "application/json" }),
    body: JSON.stringify({ to, subject, text: "tenant limit" }),
  });
  expect(response.status).toBe(202);
  return String(response.json?.id);
}

const status = async (id: string) =>
  (await call(getMessageRoute, env, { headers: bearer(key), params: { id } })).json ?? {};

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

const statusIs = (id: string, wanted: string, reason?: RegExp) =>
  waitFor(`${id} ${wanted}`, async () => {
    const record = await status(id);
    return record.status === wanted && (!reason || reason.test(String(record.reason))) ? record : undefined;
  });

/** How many times each recipient got the message with `subject`. */
function deliveries(subject: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const mail of peer.received.filter((m) => m.raw.toString().includes(`Subject: ${subject}`)))
    for (const to of mail.to) counts[to] = (counts[to] ?? 0) + 1;
  return counts;
}

describe("the tenant external recipient limit (550 5.7.233) across instances", () => {
  it("pauses external mail of the tenant, lets internal mail through, probes, and resumes once", async () => {
    const first = await submit(["partner1@fabrikam.com"], "first external");
    await statusIs(first, "sent");

    // The allowance is spent: the next external message is throttled, not failed.
    const refused = await submit(["partner2@fabrikam.com"], "second external");
    const deferred = await statusIs(refused, "deferred", /external recipient limit/);
    expect(deferred.lastError).toMatchObject({ code: "550 5.7.233" });

    // Both instances see the tenant's pause (shared state), and the quota view shows it.
    expect(await other.services.tenant.view()).toMatchObject({
      reason: expect.stringMatching(/550 5\.7\.233/),
    });
    const quota = await call(getQuotaRoute, env, {
      headers: bearer(key),
      params: { address: "scanner@contoso.com" },
    });
    expect(quota.json?.tenantExternalPause).toMatchObject({ reason: expect.stringMatching(/5\.7\.233/) });
    // The mailbox itself is not paused.
    expect(quota.json?.pausedUntil).toBeUndefined();

    // Internal mail keeps flowing; a message with any external recipient waits whole.
    const internal = await submit(["alice@contoso.com"], "internal while paused");
    await statusIs(internal, "sent");
    // Every instance reads the pause once its belief that the tenant was unpaused has run out; the next probe
    // is still seconds away, so a message with any external recipient now waits whole.
    await new Promise((resolve) => setTimeout(resolve, unpausedBeliefMs + 500));
    const mixed = await submit(["bob@contoso.com", "partner3@fabrikam.com"], "mixed while paused");
    await statusIs(mixed, "deferred", /external recipient limit/);
    expect(deliveries("mixed while paused")).toEqual({});

    // Probes keep being refused while the allowance stays spent; then it ages out and everything goes.
    const probedAgain = await waitFor("a refused probe", async () => {
      const view = await env.services.tenant.view();
      return view && view.nextProbeAt > Date.parse(String(deferred.updatedAt)) + 6000 ? view : undefined;
    });
    expect(probedAgain.externalPausedSince).toBeLessThanOrEqual(Date.parse(String(deferred.updatedAt)));
    peer.setExternalAllowance(10);
    await statusIs(refused, "sent");
    await statusIs(mixed, "sent");
    expect(await env.services.tenant.view()).toBeUndefined();
    expect(deliveries("second external")).toEqual({ "partner2@fabrikam.com": 1 });
    expect(deliveries("mixed while paused")).toEqual({ "bob@contoso.com": 1, "partner3@fabrikam.com": 1 });
    expect(deliveries("internal while paused")).toEqual({ "alice@contoso.com": 1 });
  }, 90_000);

  it("sends the external part of a message later when the limit refuses it at RCPT, never twice to the rest", async () => {
    await waitFor("no pause", async () => ((await env.services.tenant.view()) ? undefined : true));
    peer.setExternalAllowance(0);
    const id = await submit(["carol@contoso.com", "partner4@fabrikam.com"], "partly refused");
    const partial = await statusIs(id, "deferred", /delivered to 1 recipient; 1 will be tried again/);
    expect(String(partial.reason)).toMatch(/partner4@fabrikam\.com \(550 5\.7\.233/);
    expect(deliveries("partly refused")).toEqual({ "carol@contoso.com": 1 });
    peer.setExternalAllowance(10);
    const sent = await statusIs(id, "sent");
    expect(deliveries("partly refused")).toEqual({ "carol@contoso.com": 1, "partner4@fabrikam.com": 1 });
    expect(
      (sent.timeline as { detail?: string }[]).some((t) => /^partial: delivered to 1/.test(t.detail ?? "")),
    ).toBe(true);
  }, 60_000);
});
