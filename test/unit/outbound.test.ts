import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { StoredMessage } from "../../shared/domain/message.js";
import { type ComposedMessage, toOutbound } from "../../shared/domain/outbound.js";
import { toGraphMessage } from "../../shared/transport/graph/payload.js";

function stored(overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    v: 1,
    id: "m-1",
    clientId: "scanners",
    from: { address: "scanner@contoso.com" },
    to: [{ address: "alice@contoso.com" }],
    cc: [],
    bcc: [],
    replyTo: [],
    subject: "Scan",
    headers: {},
    attachments: [
      { name: "scan.pdf", contentType: "application/pdf", size: 5, sha256: "0".repeat(64), blob: "m-1/0" },
    ],
    ...overrides,
  };
}

const composed = (message: StoredMessage) =>
  toOutbound(message, { saveToSentItems: false, download: async () => Readable.from([]) }) as ComposedMessage;

describe("a message with only attachments", () => {
  it("gets a text line naming the file, for SMTP and for Graph alike", () => {
    const outbound = composed(stored());
    expect(outbound.text).toBe("scan.pdf is attached.");
    expect(toGraphMessage(outbound).body).toEqual({ contentType: "Text", content: "scan.pdf is attached." });
  });

  it("names every file when there are several", () => {
    const second = { name: "page2.jpg", contentType: "image/jpeg", size: 3, sha256: "1".repeat(64) };
    const outbound = composed(stored({ attachments: [...stored().attachments, second] }));
    expect(outbound.text).toBe("2 files are attached: scan.pdf, page2.jpg.");
  });

  it("keeps the caller's own text or HTML, and adds nothing to a message without files", () => {
    expect(composed(stored({ text: "From MFP-3" })).text).toBe("From MFP-3");
    expect(composed(stored({ html: "<p>Scan</p>" })).text).toBeUndefined();
    expect(composed(stored({ attachments: [] })).text).toBeUndefined();
  });
});
