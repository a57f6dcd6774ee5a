import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { getIdentityRoute } from "../../shared/api/operations/getIdentity.js";
import { getMessageRoute } from "../../shared/api/operations/getMessage.js";
import { submitMessageRoute } from "../../shared/api/operations/submitMessage.js";
import { problemTypeUri } from "../../shared/domain/problem.js";
import { startTestServices, storageConnection, testClient } from "../support/env.js";
import { bearer, call, drainOnce, storageContents } from "../support/http.js";
import { type SmtpPeer, startSmtpPeer } from "../support/smtpPeer.js";

// A client on the hve transport through the API: JSON and raw MIME (what the SMTP edge posts), against a
// loopback SMTP peer standing in for smtp.hve.mx.microsoft with the account's password.
const password = randomBytes(12).toString("hex");
const account = "alerts@contoso.com";
const { client, key } = testClient({ senders: [account], defaultSender: account, transport: "hve" });
let peer: SmtpPeer;
let env: Awaited<ReturnType<typeof startTestServices>>;

beforeAll(async () => {
  peer = await startSmtpPeer({
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    auth: { passwords: { [account]: password } },
  });
  env = await startTestServices([client], {
    env: {
      ACCEPTED_DOMAINS: "contoso.com",
      HVE_HOST: "localhost",
      HVE_PORT: String(peer.port),
      HVE_PASSWORDS: JSON.stringify({ [account]: password }),
    },
  });
});
afterAll(async () => {
  await env?.stop();
  await peer?.stop();
});

const empty = { blobs: [], queued: 0, records: 0 };

describe("the hve transport through the API", () => {
  it("refuses an external recipient with 422 naming it, for JSON and for raw MIME, keeping nothing", async () => {
    const json = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({ to: ["ops@contoso.com", "partner@fabrikam.com"], subject: "alert", text: "x" }),
    });
    expect(json.status).toBe(422);
    expect(json.json).toMatchObject({ type: problemTypeUri("validation") });
    expect(String(json.json?.detail)).toMatch(/partner@fabrikam\.com is external; High Volume Email/);
    expect(await storageContents(storageConnection(), env.names)).toEqual(empty);

    const mime = [`From: ${account}`, "To: ops@contoso.com", "Subject: alert", "", "x", ""].join("\r\n");
    const raw = await call(submitMessageRoute, env, {
      headers: bearer(key, {
        "content-type": "message/rfc822",
        "mailhook-envelope-from": account,
        "mailhook-envelope-to": "ops@contoso.com, partner@fabrikam.com",
      }),
      body: mime,
    });
    expect(raw.status).toBe(422);
    expect(String(raw.json?.detail)).toMatch(/partner@fabrikam\.com is external/);
    expect(await storageContents(storageConnection(), env.names)).toEqual(empty);
  });

  it("refuses raw MIME above HVE_MAX_MESSAGE_BYTES with 413 naming the setting, keeping nothing", async () => {
    const big = [
      `From: ${account}`,
      "To: ops@contoso.com",
      "Subject: dump",
      "",
      "x".repeat(11 * 1024 * 1024),
      "",
    ];
    const raw = await call(submitMessageRoute, env, {
      headers: bearer(key, {
        "content-type": "message/rfc822",
        "mailhook-envelope-from": account,
        "mailhook-envelope-to": "ops@contoso.com",
      }),
      body: big.join("\r\n"),
    });
    expect(raw.status).toBe(413);
    expect(raw.json).toMatchObject({ limitBytes: 10 * 1024 * 1024, setting: "HVE_MAX_MESSAGE_BYTES" });
    expect(await storageContents(storageConnection(), env.names)).toEqual(empty);
  });

  it("tells the edge HVE's own limits", async () => {
    const identity = await call(getIdentityRoute, env, { headers: bearer(key) });
    expect(identity.json).toMatchObject({
      transport: "hve",
      maxRecipientsPerMessage: 50,
      maxMessageBytes: 10 * 1024 * 1024,
    });
  });

  it("sends internal mail as the HVE account over STARTTLS", async () => {
    const accepted = await call(submitMessageRoute, env, {
      headers: bearer(key, { "content-type": "application/json" }),
      body: JSON.stringify({ to: ["ops@contoso.com"], subject: "disk full", text: "on host 7" }),
    });
    expect(accepted.status).toBe(202);
    await drainOnce(env);
    const id = String(accepted.json?.id);
    expect((await call(getMessageRoute, env, { headers: bearer(key), params: { id } })).json).toMatchObject({
      status: "sent",
      transport: "hve",
    });
    expect(peer.received.map((r) => [r.user, r.secure, r.to])).toEqual([
      [account, true, ["ops@contoso.com"]],
    ]);
  });
});
