import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ComposedMessage, OutboundAttachment } from "../../shared/domain/outbound.js";
import {
  chunkRanges,
  contentRange,
  graphRequestMaxBytes,
  inlineRequestBytes,
  planGraphSend,
  toGraphMessage,
  uploadChunkBytes,
  uploadSessionMinBytes,
} from "../../shared/transport/graph/payload.js";
import { fixedChunks } from "../../shared/transport/graph/uploadSession.js";

const MiB = 1024 * 1024;

function attachment(name: string, size: number): OutboundAttachment {
  return {
    name,
    contentType: "application/pdf",
    size,
    open: async () => Readable.from([Buffer.alloc(size, 7)]),
  };
}

function message(overrides: Partial<ComposedMessage> = {}): ComposedMessage {
  return {
    kind: "composed",
    id: "m1",
    messageId: "<m1@contoso.com>",
    from: { address: "scanner@contoso.com", name: "Scanner" },
    to: [{ address: "alice@contoso.com", name: "Alice" }],
    cc: [{ address: "carol@fabrikam.com" }],
    bcc: [{ address: "audit@contoso.com" }],
    replyTo: [{ address: "desk@contoso.com" }],
    subject: "Scan 42",
    text: "see attached",
    headers: { "X-Device": "MFP-3", "X-Job": "42" },
    importance: "high",
    saveToSentItems: false,
    attachments: [],
    ...overrides,
  };
}

describe("Graph message payload", () => {
  it("maps recipients, subject, body, importance and X- headers to Graph's message", () => {
    expect(toGraphMessage(message())).toEqual({
      subject: "Scan 42",
      body: { contentType: "Text", content: "see attached" },
      from: { emailAddress: { address: "scanner@contoso.com", name: "Scanner" } },
      toRecipients: [{ emailAddress: { address: "alice@contoso.com", name: "Alice" } }],
      ccRecipients: [{ emailAddress: { address: "carol@fabrikam.com" } }],
      bccRecipients: [{ emailAddress: { address: "audit@contoso.com" } }],
      replyTo: [{ emailAddress: { address: "desk@contoso.com" } }],
      importance: "high",
      internetMessageHeaders: [
        { name: "X-Device", value: "MFP-3" },
        { name: "X-Job", value: "42" },
      ],
    });
  });

  it("sends HTML when the message has it, and leaves out empty headers and importance", () => {
    const graph = toGraphMessage(message({ html: "<p>hi</p>", headers: {}, importance: undefined }));
    expect(graph.body).toEqual({ contentType: "HTML", content: "<p>hi</p>" });
    expect(graph).not.toHaveProperty("internetMessageHeaders");
    expect(graph).not.toHaveProperty("importance");
  });

  it("computes the exact sendMail body size without reading attachments", async () => {
    const m = message({ attachments: [attachment("a.pdf", 1000), attachment("b.pdf", 2)] });
    const body = JSON.stringify({
      message: {
        ...toGraphMessage(m),
        attachments: await Promise.all(
          m.attachments.map(async (a) => ({
            "@odata.type": "#microsoft.graph.fileAttachment",
            name: a.name,
            contentType: a.contentType,
            contentBytes: Buffer.alloc(a.size, 7).toString("base64"),
          })),
        ),
      },
      saveToSentItems: false,
    });
    expect(inlineRequestBytes(m)).toBe(Buffer.byteLength(body));
  });

  it("sends inline while the request fits under 4 MB, else drafts with upload sessions from 3 MB", () => {
    expect(planGraphSend(message({ attachments: [attachment("small.pdf", 2 * MiB)] }))).toEqual({
      kind: "sendMail",
    });
    expect(
      planGraphSend(message({ attachments: [attachment("a.pdf", 2 * MiB), attachment("b.pdf", 2 * MiB)] })),
    ).toEqual({ kind: "draft", routes: ["post", "post"] });
    expect(
      planGraphSend(message({ attachments: [attachment("big.pdf", 10 * MiB), attachment("s.txt", 10)] })),
    ).toEqual({ kind: "draft", routes: ["uploadSession", "post"] });
    // Just under 3 MB inline would exceed the request cap once base64-encoded.
    const edge = message({ attachments: [attachment("edge.pdf", uploadSessionMinBytes - 1)] });
    expect(inlineRequestBytes(edge)).toBeGreaterThan(graphRequestMaxBytes);
    expect(planGraphSend(edge)).toEqual({ kind: "draft", routes: ["post"] });
  });
});

describe("upload chunks", () => {
  it("cuts a file into in-order ranges, multiples of 320 KiB and at most 4 MB", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 * MiB }), (size) => {
        const ranges = chunkRanges(size);
        expect(ranges[0]?.start).toBe(0);
        expect(ranges.at(-1)?.end).toBe(size - 1);
        ranges.forEach((r, i) => {
          const length = r.end - r.start + 1;
          expect(length).toBeLessThanOrEqual(4 * MiB);
          if (i < ranges.length - 1) {
            expect(length % (320 * 1024)).toBe(0);
            expect(ranges[i + 1]?.start).toBe(r.end + 1);
          }
        });
      }),
    );
    expect(chunkRanges(10 * MiB).map(contentRange)).toEqual([
      "bytes 0-3276799/10485760",
      "bytes 3276800-6553599/10485760",
      "bytes 6553600-9830399/10485760",
      "bytes 9830400-10485759/10485760",
    ]);
  });

  it("re-cuts any stream into fixed chunks without losing or reordering bytes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 700 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 512 }),
        async (pieces, chunkBytes) => {
          const all = Buffer.concat(pieces.map((p) => Buffer.from(p)));
          const chunks: Buffer[] = [];
          for await (const c of fixedChunks(Readable.from(pieces.map((p) => Buffer.from(p))), chunkBytes)) {
            chunks.push(c);
          }
          expect(Buffer.concat(chunks).equals(all)).toBe(true);
          for (const c of chunks.slice(0, -1)) expect(c.length).toBe(chunkBytes);
        },
      ),
      { numRuns: 200 },
    );
    expect(uploadChunkBytes % (320 * 1024)).toBe(0);
  });
});
