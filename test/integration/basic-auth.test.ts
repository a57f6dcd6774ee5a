import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { type Composed, composeServices } from "../../shared/host/compose.js";
import { startTestServices, testClient } from "../support/env.js";
import { bearer, call, drainOnce } from "../support/http.js";
import { type SmtpPeer, startSmtpPeer } from "../support/smtpPeer.js";

// Basic authentication going away, through the whole pipeline: Azurite (the shared memory of logins that
// worked lives in the pacing table), the dispatcher, and an SMTP peer answering as Exchange Online does.
const password = randomBytes(12).toString("hex");
const { client, key } = testClient({
  senders: ["scanner@contoso.com"],
  defaultSender: "scanner@contoso.com",
});
let peer: SmtpPeer;
let env: Awaited<ReturnType<typeof startTestServices>>;
const others: Composed[] = [];

beforeAll(async () => {
  peer = await startSmtpPeer({
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    auth: { passwords: { "scanner@contoso.com": password } },
  });
  env = await startTestServices([client], {
    env: {
      SMTP_HOST: "localhost",
      SMTP_PORT: String(peer.port),
      SMTP_AUTH: "basic",
      SMTP_PASSWORDS: JSON.stringify({ "*": password }),
    },
  });
});
afterAll(async () => {
  for (const other of others) await other.close();
  await env?.stop();
  await peer?.stop();
});

async function sendThrough(composed: Composed, subject: string) {
  const response = await call(submitMessageRoute, env, {
    headers: bearer(key, { "content-type": "application/json" }),
    body: JSON.stringify({ to: ["alice@contoso.com"], subject, text: "scan" }),
  });
  expect(response.status).toBe(202);
  await drainOnce(composed);
  return (
    await call(getMessageRoute, env, { headers: bearer(key), params: { id: String(response.json?.id) } })
  ).json;
}

describe("SMTP AUTH basic after December 2026", () => {
  it("fails at once, saying how to move to OAuth, and tells a password that stopped working from a wrong one", async () => {
    expect(await sendThrough(env, "works today")).toMatchObject({ status: "sent", attempts: 1 });

    // Basic auth is turned off; Exchange answers the generic 535 5.7.3. A freshly started instance (no memory
    // of its own) reads the shared memory that the password worked.
    peer.setBasicAuth("refused");
    const fresh = await composeServices(env.services.config, { storageNames: env.names });
    others.push(fresh);
    const refused = await sendThrough(fresh, "after the switch");
    expect(refused).toMatchObject({ status: "failed", attempts: 1, lastError: { code: "535 5.7.3" } });
    expect(String(refused?.reason)).toMatch(/worked until .* basic authentication has been turned off/);
    expect(String(refused?.reason)).toMatch(/SMTP_AUTH=oauth2/);

    // (A pooled connection that is already signed in stays usable; a new one must sign in.)
    peer.setBasicAuth("disabled");
    const another = await composeServices(env.services.config, { storageNames: env.names });
    others.push(another);
    const disabled = await sendThrough(another, "disabled for the tenant");
    expect(disabled).toMatchObject({ status: "failed", attempts: 1, lastError: { code: "535 5.7.139" } });
    expect(String(disabled?.reason)).toMatch(
      /basic authentication \(a password\) is disabled .*SMTP_AUTH=oauth2/,
    );
    expect(peer.received).toHaveLength(1);
  });
});
