import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  decodeEnvelope,
  encodeEnvelope,
  inlineMessageLimitBytes,
  parseQueuedMessage,
  withBooking,
} from "../../shared/domain/envelope.js";
import type { StoredMessage, StoredMimeMessage } from "../../shared/domain/message.js";
import { checkIn, checkInMime, usesBlobs } from "../../shared/intake/claimCheck.js";
import { MemoryMessageStore } from "../../shared/storage/memory/messageStore.js";

function message(overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    v: 1,
    id: "m1",
    clientId: "c1",
    from: { address: "Scanner@contoso.com" },
    to: [{ address: "a@contoso.com" }],
    cc: [{ address: "b@contoso.com" }],
    bcc: [],
    replyTo: [],
    subject: "s",
    headers: {},
    attachments: [],
    ...overrides,
  };
}

const attachment = (bytes: Buffer) => ({
  name: "a.bin",
  contentType: "application/octet-stream",
  size: bytes.length,
  sha256: "x",
  contentBase64: bytes.toString("base64"),
});

describe("queue envelopes", () => {
  it("round-trip through base64 JSON, as the Functions trigger hands them over or as raw text", async () => {
    const envelope = await checkIn(message(), new Map(), new MemoryMessageStore());
    const text = encodeEnvelope(envelope);
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const json = JSON.parse(Buffer.from(text, "base64").toString("utf8"));
    expect(decodeEnvelope(json)).toEqual(envelope);
    expect(decodeEnvelope(text)).toEqual(envelope);
    expect(envelope).toMatchObject({ v: 1, mailbox: "scanner@contoso.com", recipients: 2 });
  });

  it("rejects an envelope of another version or without a message", () => {
    expect(() => decodeEnvelope({ v: 3, id: "m", clientId: "c", mailbox: "a@b.c", recipients: 1 })).toThrow();
    expect(() => decodeEnvelope({ v: 2, id: "m", clientId: "c", mailbox: "a@b.c", recipients: 1 })).toThrow();
    expect(() => decodeEnvelope({ v: 1, id: "m", clientId: "c", mailbox: "a@b.c", recipients: 1 })).toThrow();
  });

  it("keeps a small message inline and stores nothing", async () => {
    const store = new MemoryMessageStore();
    const bytes = Buffer.alloc(1000, 1);
    const envelope = await checkIn(
      message({ attachments: [attachment(bytes)] }),
      new Map([[0, bytes]]),
      store,
    );
    expect(envelope.v === 1 && envelope.message?.attachments[0]?.contentBase64).toBe(
      bytes.toString("base64"),
    );
    expect(store.blobs.size).toBe(0);
  });

  it("moves attachment bytes to Blob storage when the message would not fit a queue message", async () => {
    const store = new MemoryMessageStore();
    const bytes = Buffer.alloc(inlineMessageLimitBytes, 2);
    const envelope = await checkIn(
      message({ attachments: [attachment(bytes)] }),
      new Map([[0, bytes]]),
      store,
    );
    if (envelope.v !== 1) throw new Error("a composed message travels in envelope version 1");
    expect(envelope.message?.attachments[0]).toMatchObject({ blob: "m1/attachments/0" });
    expect(envelope.message?.attachments[0]?.contentBase64).toBeUndefined();
    expect(store.blobs.get("m1/attachments/0")?.equals(bytes)).toBe(true);
    expect(Buffer.byteLength(encodeEnvelope(envelope))).toBeLessThan(64 * 1024);
  });

  it("stores the message itself when even its fields are too large (claim check)", async () => {
    const store = new MemoryMessageStore();
    const envelope = await checkIn(message({ html: "x".repeat(100_000) }), new Map(), store);
    expect(envelope.message).toBeUndefined();
    expect(envelope.messageBlob).toBe("m1/message.json");
    expect(JSON.parse(store.blobs.get("m1/message.json")?.toString() ?? "{}").html).toHaveLength(100_000);
  });

  it("carries the recipients still to send to and whether a wait is a mailbox booking, readable by the previous release", async () => {
    const envelope = await checkIn(message(), new Map(), new MemoryMessageStore());
    const rest = withBooking({ ...envelope, only: ["b@contoso.com"], recipients: 1 }, false);
    expect(decodeEnvelope(encodeEnvelope(rest))).toMatchObject({ only: ["b@contoso.com"], unbooked: true });
    expect(withBooking(rest, true)).not.toHaveProperty("unbooked");
    expect(() => decodeEnvelope({ ...rest, only: [] })).toThrow();
    // The previous release's schema (version 1, without these fields) still reads it.
    const previous = z
      .object({
        v: z.literal(1),
        id: z.string(),
        clientId: z.string(),
        mailbox: z.string(),
        recipients: z.number().int().positive(),
        message: z.unknown().optional(),
        messageBlob: z.string().optional(),
      })
      .refine((e) => (e.message === undefined) !== (e.messageBlob === undefined));
    expect(
      previous.safeParse(JSON.parse(Buffer.from(encodeEnvelope(rest), "base64").toString())).success,
    ).toBe(true);
  });
});

describe("queue envelopes of MIME messages (version 2)", () => {
  const mime = (recipients: number): StoredMimeMessage => ({
    kind: "mime",
    v: 1,
    id: "m2",
    clientId: "c1",
    from: { address: "scanner@contoso.com" },
    recipients: Array.from({ length: recipients }, (_, i) => ({ address: `r${i}@contoso.com` })),
    visibleRecipients: ["r0@contoso.com"],
    messageId: "<m2@contoso.com>",
    blob: "m2/message.eml",
    size: 10,
    sha256: "s",
    sourceSha256: "t",
  });

  it("travel as version 2 and decode with the MIME schema", async () => {
    const envelope = await checkInMime(mime(2), new MemoryMessageStore());
    expect(envelope).toMatchObject({ v: 2, mailbox: "scanner@contoso.com", recipients: 2 });
    expect(decodeEnvelope(encodeEnvelope(envelope))).toEqual(envelope);
    expect(usesBlobs(envelope)).toBe(true);
  });

  it("claim-check the message record when hundreds of recipients outgrow a queue message", async () => {
    const store = new MemoryMessageStore();
    const envelope = await checkInMime(mime(2000), store);
    expect(envelope.messageBlob).toBe("m2/message.json");
    expect(parseQueuedMessage(envelope, JSON.parse(store.blobs.get("m2/message.json")!.toString()))).toEqual(
      mime(2000),
    );
  });

  it("are refused by the previous release's schema (version 1 only), so an old instance never mis-sends one", async () => {
    const envelope = await checkInMime(mime(1), new MemoryMessageStore());
    const previous = { ...envelope, v: 1 };
    expect(() => decodeEnvelope(previous)).toThrow();
  });
});
