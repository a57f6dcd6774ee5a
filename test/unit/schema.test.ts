import { describe, expect, it } from "vitest";
import { jsonMessageSchema, messageFieldsSchema, sanitizeFileName } from "../../shared/domain/message.js";
import { messageFieldsFromForm } from "../../shared/intake/form.js";

describe("the v1 JSON message", () => {
  it("accepts Power Automate's file objects and semicolon-separated recipient strings", () => {
    const parsed = jsonMessageSchema.parse({
      to: "alice@contoso.com; Bob <bob@contoso.com>",
      subject: "Report",
      attachments: [
        { name: "report.pdf", contentBytes: { "$content-type": "application/pdf", $content: "JVBERi0=" } },
        { name: "data.csv", contentType: "text/csv", contentBytes: "aWQsbgox\n" },
      ],
    });
    expect(parsed.to).toEqual([
      { address: "alice@contoso.com" },
      { address: "bob@contoso.com", name: "Bob" },
    ]);
    expect(parsed.attachments).toEqual([
      { name: "report.pdf", contentType: "application/pdf", contentBase64: "JVBERi0=" },
      { name: "data.csv", contentType: "text/csv", contentBase64: "aWQsbgox" },
    ]);
  });

  it("needs at least one recipient in to, cc or bcc, and accepts bcc alone", () => {
    const none = jsonMessageSchema.safeParse({ subject: "x" });
    expect(none.success).toBe(false);
    expect(none.error?.issues[0]?.path).toEqual(["to"]);
    expect(jsonMessageSchema.safeParse({ bcc: ["a@contoso.com"], subject: "x" }).success).toBe(true);
  });

  it("takes sendAt only as an ISO 8601 time with an offset", () => {
    const base = { to: ["a@contoso.com"], subject: "x" };
    expect(jsonMessageSchema.safeParse({ ...base, sendAt: "2026-12-01T08:00:00Z" }).success).toBe(true);
    expect(jsonMessageSchema.safeParse({ ...base, sendAt: "2026-12-01T08:00:00+01:00" }).success).toBe(true);
    expect(jsonMessageSchema.safeParse({ ...base, sendAt: "tomorrow" }).success).toBe(false);
  });
});

describe("multipart form fields", () => {
  it("map repeated and comma-separated addresses, X- headers, metadata and booleans", () => {
    const fields = messageFieldsFromForm(
      new Map([
        ["to", ["alice@contoso.com, bob@contoso.com", "carol@contoso.com"]],
        ["subject", ["Scan"]],
        ["X-Device", ["MFP-3"]],
        ["metadata.site", ["Milan"]],
        ["saveToSentItems", ["false"]],
      ]),
    );
    const parsed = messageFieldsSchema.parse(fields);
    expect(parsed.to.map((m) => m.address)).toEqual([
      "alice@contoso.com",
      "bob@contoso.com",
      "carol@contoso.com",
    ]);
    expect(parsed.headers).toEqual({ "X-Device": "MFP-3" });
    expect(parsed.metadata).toEqual({ site: "Milan" });
    expect(parsed.saveToSentItems).toBe(false);
  });

  it("refuses a single-valued field given twice", () => {
    expect(() => messageFieldsFromForm(new Map([["subject", ["a", "b"]]]))).toThrow(/given 2 times/);
  });
});

describe("attachment names", () => {
  it.each([
    ["C:\\scans\\scan 1.pdf", "scan 1.pdf"],
    ["../../etc/passwd", "passwd"],
    ["report\r\n.pdf", "report.pdf"],
    [".hidden", "hidden"],
    ["", "attachment-1"],
    ["/", "attachment-1"],
    ["a".repeat(300), "a".repeat(255)],
    ["invoice\u202Efdp.exe", "invoicefdp.exe"],
    ["\u2066scan\u2069\u200F.pdf", "scan.pdf"],
    ["\uFEFFreport\u200B.pdf", "report.pdf"],
    ["a\u0085b\u2028c.pdf", "abc.pdf"],
    ["Rechnung März.pdf", "Rechnung März.pdf"],
  ])("%j becomes %j", (name, expected) => {
    expect(sanitizeFileName(name, "attachment-1")).toBe(expected);
  });
});
