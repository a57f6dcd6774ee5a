import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { ComposedMessage, OutboundAttachment } from "../../shared/domain/outbound.js";
import type { SendCheckpoint } from "../../shared/domain/statusRecord.js";
import { createTokenProvider } from "../../shared/transport/entra/tokenProvider.js";
import { GraphTransport } from "../../shared/transport/graph/transport.js";
import type { SendAttempt } from "../../shared/transport/transport.js";
import { writeCertificatePair } from "../support/certificates.js";
import { type FakeGraph, type FakeGraphOptions, startFakeGraph } from "../support/fakeGraph.js";

const MiB = 1024 * 1024;
const tenantId = "contoso-tenant";
const clientId = "11111111-2222-3333-4444-555555555555";
const clientSecret = randomBytes(16).toString("hex");

const started: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function fakeGraph(options: Partial<FakeGraphOptions> = {}): Promise<FakeGraph> {
  const fake = await startFakeGraph({
    tls: { cert: inject("tlsCert"), key: inject("tlsKey") },
    tenantId,
    clientId,
    clientSecret,
    ...options,
  });
  started.push(fake);
  return fake;
}

function transportFor(
  fake: FakeGraph,
  credential: { clientSecret?: string; clientCertificatePath?: string; clientCertificate?: string } = {
    clientSecret,
  },
  options: { requestTimeoutMs?: number; tokenTimeoutMs?: number; authorityHost?: string } = {},
) {
  const tokens = createTokenProvider(
    { tenantId, clientId, authorityHost: options.authorityHost ?? fake.url, ...credential },
    { timeoutMs: options.tokenTimeoutMs },
  );
  const transport = new GraphTransport({ graphEndpoint: fake.url, tokens, random: () => 0.5, ...options });
  started.push({ stop: () => transport.close() });
  return transport;
}

function patterned(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed) % 251;
  return bytes;
}

function attachment(name: string, bytes: Buffer, piece = 64 * 1024): OutboundAttachment {
  return {
    name,
    contentType: "application/pdf",
    size: bytes.length,
    // Many small pieces, like a Blob download: the transport must re-cut them into 320 KiB multiples.
    open: async () =>
      Readable.from(
        (function* () {
          for (let i = 0; i < bytes.length; i += piece) yield bytes.subarray(i, i + piece);
        })(),
      ),
  };
}

function message(overrides: Partial<ComposedMessage> = {}): ComposedMessage {
  return {
    kind: "composed",
    id: "m-1",
    messageId: "<m-1@contoso.com>",
    from: { address: "scanner@contoso.com" },
    to: [{ address: "alice@contoso.com", name: "Alice" }],
    cc: [],
    bcc: [{ address: "audit@contoso.com" }],
    replyTo: [],
    subject: "Invoice 42",
    text: "Please find the invoice attached.",
    headers: { "X-Invoice": "42" },
    importance: "high",
    saveToSentItems: false,
    attachments: [],
    ...overrides,
  };
}

describe("graph transport against a loopback Graph and Entra ID", () => {
  it("sends a small message with sendMail through msal-node and the Graph client, reusing the token", async () => {
    const fake = await fakeGraph();
    const transport = transportFor(fake);
    const pdf = patterned(100_000, 3);
    expect(await transport.send(message({ attachments: [attachment("invoice.pdf", pdf)] }))).toEqual({
      kind: "sent",
    });
    expect(await transport.send(message({ subject: "second" }))).toEqual({ kind: "sent" });

    expect(fake.tokenRequests).toEqual([{ resource: fake.url, credential: "secret" }]);
    const [first] = fake.accepted;
    expect(first).toMatchObject({
      mailbox: "scanner@contoso.com",
      via: "sendMail",
      saveToSentItems: false,
      message: {
        subject: "Invoice 42",
        body: { contentType: "Text", content: "Please find the invoice attached." },
        toRecipients: [{ emailAddress: { address: "alice@contoso.com", name: "Alice" } }],
        bccRecipients: [{ emailAddress: { address: "audit@contoso.com" } }],
        importance: "high",
        internetMessageHeaders: [{ name: "X-Invoice", value: "42" }],
      },
    });
    expect(first?.attachments.map((a) => [a.name, a.via])).toEqual([["invoice.pdf", "inline"]]);
    expect(first?.attachments[0]?.bytes.equals(pdf)).toBe(true);
    expect(fake.requests.filter((r) => r.path.endsWith("/sendMail")).every((r) => r.authorization)).toBe(
      true,
    );
  });

  it("sends a 10 MB attachment through a draft and an upload session, byte-identical, in order, without a bearer", async () => {
    const fake = await fakeGraph();
    const transport = transportFor(fake);
    const big = patterned(10 * MiB + 12345, 7);
    const small = patterned(2000, 9);
    const outcome = await transport.send(
      message({ attachments: [attachment("scan.pdf", big), attachment("note.txt", small)] }),
    );
    // Graph's draft send has no saveToSentItems: the status timeline says the copy was kept anyway.
    expect(outcome).toEqual({
      kind: "sent",
      providerMessageId: fake.accepted[0]?.id,
      note: "kept in Sent Items although saveToSentItems is false: a Graph draft send always saves",
    });

    const [sent] = fake.accepted;
    expect(sent?.via).toBe("draft");
    expect(sent?.attachments.map((a) => [a.name, a.via])).toEqual([
      ["scan.pdf", "uploadSession"],
      ["note.txt", "post"],
    ]);
    const digest = (b: Buffer | undefined) =>
      createHash("sha256")
        .update(b ?? Buffer.alloc(0))
        .digest("hex");
    expect(digest(sent?.attachments[0]?.bytes)).toBe(digest(big));
    expect(sent?.attachments[1]?.bytes.equals(small)).toBe(true);

    const puts = fake.requests.filter((r) => r.method === "PUT");
    expect(puts.map((r) => r.contentRange)).toEqual([
      `bytes 0-3276799/${big.length}`,
      `bytes 3276800-6553599/${big.length}`,
      `bytes 6553600-9830399/${big.length}`,
      `bytes 9830400-${big.length - 1}/${big.length}`,
    ]);
    expect(puts.every((r) => !r.authorization && r.status >= 200 && r.status < 300)).toBe(true);
    expect(fake.openDrafts()).toBe(0);
  });

  it("fails permanently, naming Mail.ReadWrite, when the app may not create drafts", async () => {
    const fake = await fakeGraph({ roles: ["Mail.Send"] });
    const outcome = await transportFor(fake).send(
      message({ attachments: [attachment("scan.pdf", patterned(5 * MiB, 1))] }),
    );
    expect(outcome).toMatchObject({ kind: "permanent", code: "403 ErrorAccessDenied" });
    expect(outcome.kind === "permanent" && outcome.text).toMatch(/^Mail\.ReadWrite permission is missing/);
    expect(fake.accepted).toEqual([]);
  });

  it("returns 429 and 503 to the caller as throttled with Retry-After (no retry inside the Graph client)", async () => {
    const fake = await fakeGraph();
    const transport = transportFor(fake);
    fake.inject({
      path: /sendMail$/,
      status: 429,
      code: "ApplicationThrottled",
      message: "MailboxConcurrency",
      retryAfter: "7",
    });
    expect(await transport.send(message())).toEqual({
      kind: "throttled",
      retryAfterMs: 7000,
      cause: "concurrency",
      code: "429 ApplicationThrottled",
      text: "MailboxConcurrency",
    });
    fake.inject({
      path: /sendMail$/,
      status: 503,
      code: "ServiceUnavailable",
      message: "busy",
      retryAfter: "3",
    });
    expect(await transport.send(message())).toMatchObject({ kind: "throttled", retryAfterMs: 3000 });
    // Without Retry-After the fallback backs off further for each throttling answer in a row.
    fake.inject({ path: /sendMail$/, status: 429, code: "ApplicationThrottled", message: "again" });
    expect(await transport.send(message())).toMatchObject({ kind: "throttled", retryAfterMs: 60_000 });
    expect(fake.requests.filter((r) => r.path.endsWith("/sendMail"))).toHaveLength(3);
    expect(await transport.send(message())).toEqual({ kind: "sent" });
  });

  it("classifies a connection reset and a timeout as transient", async () => {
    const fake = await fakeGraph();
    const transport = transportFor(fake, { clientSecret }, { requestTimeoutMs: 300 });
    fake.inject({ path: /sendMail$/, reset: true });
    expect(await transport.send(message())).toMatchObject({ kind: "transient", code: "ECONNRESET" });

    const slow = await fakeGraph({ sendDelayMs: 2000 });
    expect(
      await transportFor(slow, { clientSecret }, { requestTimeoutMs: 300 }).send(message()),
    ).toMatchObject({
      kind: "transient",
      code: "ETIMEDOUT",
    });
  });

  it("deletes the draft when an upload chunk is throttled, and says when to come back", async () => {
    const fake = await fakeGraph();
    fake.inject({
      method: "PUT",
      status: 503,
      code: "ServiceUnavailable",
      message: "busy",
      retryAfter: "11",
    });
    const outcome = await transportFor(fake).send(
      message({ attachments: [attachment("scan.pdf", patterned(4 * MiB, 2))] }),
    );
    expect(outcome).toMatchObject({ kind: "throttled", retryAfterMs: 11_000 });
    expect(fake.deletedDrafts).toHaveLength(1);
    expect(fake.openDrafts()).toBe(0);
  });

  it("keeps Graph's code and text for a mailbox that does not exist", async () => {
    const fake = await fakeGraph({ mailboxes: ["scanner@contoso.com"] });
    expect(await transportFor(fake).send(message({ from: { address: "ghost@contoso.com" } }))).toEqual({
      kind: "permanent",
      code: "404 ErrorInvalidUser",
      text: "The requested user 'ghost@contoso.com' is invalid.",
    });
  });

  it("gets a fresh token after a 401", async () => {
    const fake = await fakeGraph();
    const transport = transportFor(fake);
    fake.inject({
      path: /sendMail$/,
      status: 401,
      code: "InvalidAuthenticationToken",
      message: "Access token has expired.",
    });
    expect(await transport.send(message())).toMatchObject({
      kind: "transient",
      code: "401 InvalidAuthenticationToken",
    });
    expect(await transport.send(message())).toEqual({ kind: "sent" });
    expect(fake.tokenRequests).toHaveLength(2);
  });

  it("asks for a new token after ErrorAccessDenied, so a permission granted since works on the next try", async () => {
    const fake = await fakeGraph({ roles: ["Mail.ReadWrite"] });
    const transport = transportFor(fake);
    const refused = await transport.send(message());
    expect(refused).toMatchObject({ kind: "permanent", code: "403 ErrorAccessDenied" });
    expect(refused.kind === "permanent" && refused.text).toMatch(/^Mail\.Send permission is missing/);
    // The admin grants Mail.Send: only a token issued from now on carries the role.
    fake.grant(["Mail.Send", "Mail.ReadWrite"]);
    expect(await transport.send(message())).toEqual({ kind: "sent" });
    expect(fake.tokenRequests).toHaveLength(2);
    // The new token is cached again: no third request.
    expect(await transport.send(message())).toEqual({ kind: "sent" });
    expect(fake.tokenRequests).toHaveLength(2);
  });

  it("keeps its token after ErrorSendAsDenied, a mailbox right that no new token changes", async () => {
    const fake = await fakeGraph();
    const transport = transportFor(fake);
    fake.inject({ path: /sendMail$/, status: 403, code: "ErrorSendAsDenied", message: "no send-as right" });
    expect(await transport.send(message())).toMatchObject({
      kind: "permanent",
      code: "403 ErrorSendAsDenied",
    });
    expect(await transport.send(message())).toEqual({ kind: "sent" });
    expect(fake.tokenRequests).toHaveLength(1);
  });

  it("renews a token that expires within msal's 5-minute margin", async () => {
    const fake = await fakeGraph({ tokenLifetimeSeconds: 299 });
    const transport = transportFor(fake);
    await transport.send(message());
    await transport.send(message());
    expect(fake.tokenRequests).toHaveLength(2);
  });

  it("fails permanently, with Entra's answer, when the client secret is wrong", async () => {
    const fake = await fakeGraph();
    const outcome = await transportFor(fake, { clientSecret: "wrong" }).send(message());
    expect(outcome).toMatchObject({ kind: "permanent", code: "entra invalid_client" });
    expect(outcome.kind === "permanent" && outcome.text).toContain("AADSTS7000215");
    expect(fake.accepted).toEqual([]);
  });

  describe("when the token endpoint misbehaves", () => {
    it("takes a 5xx, a reset, a timeout and no answer at all as transient, and asks for a token again", async () => {
      const fake = await fakeGraph();
      const transport = transportFor(fake, { clientSecret }, { tokenTimeoutMs: 500 });
      const tokenPosts = () => fake.requests.filter((r) => r.path.endsWith("/token")).length;
      // msal-node waits out a 5xx's Retry-After (60 s without one) before it asks the endpoint again.
      fake.inject({
        path: /\/token$/,
        status: 503,
        code: "temporarily_unavailable",
        message: "busy",
        retryAfter: "1",
      });
      expect(await transport.send(message())).toMatchObject({
        kind: "transient",
        code: expect.stringMatching(/^entra /),
      });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      fake.inject({ path: /\/token$/, reset: true });
      expect(await transport.send(message())).toMatchObject({ kind: "transient" });
      fake.inject({ path: /\/token$/, hang: true });
      expect(await transport.send(message())).toMatchObject({ kind: "transient", code: "entra timeout" });
      expect(fake.accepted).toEqual([]);
      expect(await transport.send(message())).toEqual({ kind: "sent" });
      expect(tokenPosts()).toBe(4);
      expect(fake.tokenRequests).toHaveLength(1);

      const unreachable = transportFor(fake, { clientSecret }, { authorityHost: "https://localhost:9" });
      expect(await unreachable.send(message())).toMatchObject({ kind: "transient" });
    });

    it("fails at once, naming the setting to renew, when the secret has expired", async () => {
      const fake = await fakeGraph({ secretExpired: true });
      const outcome = await transportFor(fake).send(message());
      expect(outcome).toMatchObject({ kind: "permanent", code: "entra invalid_client" });
      expect(outcome.kind === "permanent" && outcome.text).toMatch(
        /client secret has expired: create a new one in the app registration and put it in ENTRA_CLIENT_SECRET.*AADSTS7000222/,
      );
    });
  });

  it("has a fake Graph that refuses what Graph refuses", async () => {
    const fake = await fakeGraph();
    const tokens = createTokenProvider({ tenantId, clientId, clientSecret, authorityHost: fake.url });
    const { token } = await tokens.getToken(`${fake.url}/.default`);
    const user = `${fake.url}/v1.0/users/scanner%40contoso.com`;
    const post = (path: string, body: unknown, bearer: string | null = token) =>
      fetch(`${user}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const mail = (content: string) => ({
      message: {
        subject: "s",
        body: { contentType: "Text", content },
        toRecipients: [{ emailAddress: { address: "alice@contoso.com" } }],
      },
    });
    expect((await post("/sendMail", mail("hi"), null)).status).toBe(401);
    expect((await post("/sendMail", mail("hi"), "forged")).status).toBe(401);
    expect((await post("/sendMail", { ...mail("hi"), extra: true })).status).toBe(400);
    expect((await post("/sendMail", mail("x".repeat(4 * MiB)))).status).toBe(413);
    expect((await post("/sendMail", mail("hi"))).status).toBe(202);

    const draft = (await (await post("/messages", mail("d").message)).json()) as { id: string };
    const session = (size: number) =>
      post(`/messages/${draft.id}/attachments/createUploadSession`, {
        AttachmentItem: { attachmentType: "file", name: "a.pdf", size },
      });
    expect((await session(3 * MiB - 1)).status).toBe(400);
    const { uploadUrl } = (await (await session(4 * MiB)).json()) as { uploadUrl: string };
    const put = (range: string, bytes: number, headers: Record<string, string> = {}) =>
      fetch(uploadUrl, {
        method: "PUT",
        headers: { "content-range": range, ...headers },
        body: Buffer.alloc(bytes),
      });
    const chunk = 320 * 1024;
    expect((await put(`bytes ${chunk}-${2 * chunk - 1}/${4 * MiB}`, chunk)).status).toBe(416);
    expect((await put(`bytes 0-99/${4 * MiB}`, 100)).status).toBe(400);
    expect(
      (await put(`bytes 0-${chunk - 1}/${4 * MiB}`, chunk, { authorization: `Bearer ${token}` })).status,
    ).toBe(401);
    expect((await put(`bytes 0-${chunk - 1}/${4 * MiB}`, chunk)).status).toBe(200);
  });

  describe("with a certificate credential", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "mailhook-cert-"));
    });
    afterAll(async () => rm(dir, { recursive: true, force: true }));

    it("signs a client assertion that the token endpoint verifies", async () => {
      const app = await writeCertificatePair(dir, "mailhook-app");
      const fake = await fakeGraph({ clientCertificate: app.cert, clientSecret: undefined });
      expect(await transportFor(fake, { clientCertificatePath: app.path }).send(message())).toEqual({
        kind: "sent",
      });
      expect(fake.tokenRequests).toEqual([{ resource: fake.url, credential: "certificate" }]);

      const other = await writeCertificatePair(dir, "someone-else");
      const outcome = await transportFor(fake, { clientCertificatePath: other.path }).send(message());
      expect(outcome).toMatchObject({ kind: "permanent", code: "entra invalid_client" });
    });

    // In Azure the PEM arrives as a setting's text, filled by a Key Vault reference; base64 of it works too.
    it.each([
      ["PEM text", (pem: string) => pem],
      ["base64-encoded PEM", (pem: string) => Buffer.from(pem).toString("base64")],
    ])("takes the certificate as %s from ENTRA_CLIENT_CERTIFICATE", async (_form, encode) => {
      const app = await writeCertificatePair(dir, "mailhook-app-setting");
      const fake = await fakeGraph({ clientCertificate: app.cert, clientSecret: undefined });
      const clientCertificate = encode(`${app.cert}\n${app.key}`);
      expect(await transportFor(fake, { clientCertificate }).send(message())).toEqual({ kind: "sent" });
      expect(fake.tokenRequests).toEqual([{ resource: fake.url, credential: "certificate" }]);
    });
  });

  describe("exactly once through a draft (Mail.ReadWrite, kept in Sent Items)", () => {
    /** A status record's checkpoint as the dispatcher keeps it, and what Graph had seen when it was written. */
    function recordedAttempt(fake: FakeGraph, checkpoint?: SendCheckpoint) {
      const saves: { checkpoint?: SendCheckpoint; requestsBefore: string[] }[] = [];
      const attempt: SendAttempt & { checkpoint?: SendCheckpoint } = {
        checkpoint,
        async saveCheckpoint(next) {
          saves.push({ checkpoint: next, requestsBefore: fake.requests.map((r) => `${r.method} ${r.path}`) });
          attempt.checkpoint = next;
        },
      };
      return { attempt, saves };
    }
    const kept = (overrides: Partial<ComposedMessage> = {}) =>
      message({ saveToSentItems: true, ...overrides });

    it("creates the draft with an immutable id and the message's internetMessageId, records it, then sends it", async () => {
      const fake = await fakeGraph();
      const { attempt, saves } = recordedAttempt(fake);
      const outcome = await transportFor(fake).send(kept(), attempt);

      const [sent] = fake.accepted;
      expect(sent).toMatchObject({ via: "draft", message: { internetMessageId: "<m-1@contoso.com>" } });
      expect(outcome).toEqual({ kind: "sent", providerMessageId: saves[0]?.checkpoint?.id });
      // Recorded after the draft existed and before Graph was asked to send it.
      expect(saves).toHaveLength(1);
      expect(saves[0]?.checkpoint).toMatchObject({
        kind: "graphDraft",
        mailbox: "scanner@contoso.com",
        complete: true,
      });
      expect(saves[0]?.requestsBefore.some((r) => r.endsWith("/messages"))).toBe(true);
      expect(saves[0]?.requestsBefore.some((r) => r.endsWith("/send"))).toBe(false);
      expect(fake.mutableIdRequests).toEqual([]);
      // The immutable id names the copy in Sent Items.
      expect(await fake.item(saves[0]?.checkpoint?.id ?? "")).toMatchObject({ isDraft: false });
    });

    it("sends once when Graph took the send and the answer was lost: the next attempt asks and finds it sent", async () => {
      const fake = await fakeGraph();
      const transport = transportFor(fake);
      fake.inject({ method: "POST", path: /\/send$/, afterAccept: "reset" });
      const first = recordedAttempt(fake);
      expect(await transport.send(kept(), first.attempt)).toMatchObject({
        kind: "transient",
        code: "ECONNRESET",
      });
      expect(first.attempt.checkpoint).toMatchObject({ complete: true });

      const second = recordedAttempt(fake, first.attempt.checkpoint);
      expect(await transport.send(kept(), second.attempt)).toEqual({
        kind: "sent",
        providerMessageId: first.attempt.checkpoint?.id,
        reconciled: true,
      });
      expect(fake.accepted).toHaveLength(1);
      expect(fake.requests.filter((r) => r.method === "POST" && r.path.endsWith("/messages"))).toHaveLength(
        1,
      );
    });

    it("takes a 504 after the send and a 404 before the Sent Items copy exists as sent, once", async () => {
      const fake = await fakeGraph({ sentCopyDelayMs: 60_000 });
      const transport = transportFor(fake);
      fake.inject({ method: "POST", path: /\/send$/, afterAccept: 504 });
      const first = recordedAttempt(fake);
      expect(await transport.send(kept(), first.attempt)).toMatchObject({
        kind: "transient",
        code: "504 GatewayTimeout",
      });
      const second = recordedAttempt(fake, first.attempt.checkpoint);
      expect(await transport.send(kept(), second.attempt)).toMatchObject({ kind: "sent", reconciled: true });
      expect(fake.accepted).toHaveLength(1);
    });

    it("sends a recorded draft that Graph still holds as a draft (the send never reached it)", async () => {
      const fake = await fakeGraph();
      const transport = transportFor(fake);
      fake.inject({ method: "POST", path: /\/send$/, reset: true });
      const first = recordedAttempt(fake);
      expect(await transport.send(kept(), first.attempt)).toMatchObject({ kind: "transient" });
      expect(fake.accepted).toHaveLength(0);
      const second = recordedAttempt(fake, first.attempt.checkpoint);
      expect(await transport.send(kept(), second.attempt)).toEqual({
        kind: "sent",
        providerMessageId: first.attempt.checkpoint?.id,
      });
      expect(fake.accepted).toHaveLength(1);
      expect(second.saves).toEqual([]);
    });

    it("forgets and deletes a half-built draft before building a new one", async () => {
      const fake = await fakeGraph();
      const transport = transportFor(fake);
      const big = patterned(4 * MiB, 5);
      // The first attempt died after creating the draft, before its attachment was in.
      const { attempt: dead } = recordedAttempt(fake);
      fake.inject({ method: "POST", path: /createUploadSession$/, reset: true });
      await transport.send(kept({ attachments: [attachment("scan.pdf", big)] }), {
        ...dead,
        // The store went away with the upload: the clean-up cannot forget the draft, so it keeps it.
        saveCheckpoint: async (c) => {
          if (!c) throw new Error("storage unavailable");
          dead.checkpoint = c;
        },
      });
      const halfBuilt = dead.checkpoint;
      expect(halfBuilt).toMatchObject({ complete: false });

      const retry = recordedAttempt(fake, halfBuilt);
      expect(
        await transport.send(kept({ attachments: [attachment("scan.pdf", big)] }), retry.attempt),
      ).toMatchObject({
        kind: "sent",
      });
      expect(retry.saves[0]?.checkpoint).toBeUndefined();
      expect(fake.deletedDrafts).toContain(halfBuilt?.id);
      expect(fake.accepted).toHaveLength(1);
      expect(fake.accepted[0]?.attachments[0]?.bytes.equals(big)).toBe(true);
    });

    it("sends nothing and leaves no draft when the checkpoint cannot be recorded", async () => {
      const fake = await fakeGraph();
      const lost = new Error("claim lost");
      await expect(
        transportFor(fake).send(kept(), { saveCheckpoint: () => Promise.reject(lost) }),
      ).rejects.toBe(lost);
      expect(fake.accepted).toEqual([]);
      expect(fake.openDrafts()).toBe(0);
    });

    it("abandons a draft: deletes one that is still a draft, reports one that was sent", async () => {
      const fake = await fakeGraph();
      const transport = transportFor(fake);
      fake.inject({ method: "POST", path: /\/send$/, reset: true });
      const unsent = recordedAttempt(fake);
      await transport.send(kept(), unsent.attempt);
      expect(await transport.abandon(unsent.attempt.checkpoint!)).toBe("discarded");
      expect(fake.openDrafts()).toBe(0);

      fake.inject({ method: "POST", path: /\/send$/, afterAccept: "reset" });
      const sent = recordedAttempt(fake);
      await transport.send(kept({ subject: "second" }), sent.attempt);
      expect(await transport.abandon(sent.attempt.checkpoint!)).toBe("sent");
      expect(fake.accepted.map((a) => a.message.subject)).toEqual(["second"]);
    });

    it("uses sendMail, marking a lost answer as ambiguous, when the app may not create drafts", async () => {
      const fake = await fakeGraph({ roles: ["Mail.Send"] });
      const transport = transportFor(fake);
      expect(await transport.send(kept())).toEqual({ kind: "sent" });
      expect(fake.accepted.map((a) => a.via)).toEqual(["sendMail"]);
      fake.inject({ path: /sendMail$/, afterAccept: "reset" });
      expect(await transport.send(kept())).toMatchObject({ kind: "transient", ambiguous: true });
      // Remembered per mailbox: no second refused draft.
      expect(fake.requests.filter((r) => r.path.endsWith("/messages"))).toHaveLength(1);
      expect(fake.accepted).toHaveLength(2);
    });
  });
});
