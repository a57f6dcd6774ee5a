import { ReadableStream } from "node:stream/web";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ProblemError } from "../../shared/domain/problem.js";
import { readMultipart } from "../../shared/intake/multipart.js";
import { MemoryMessageStore } from "../../shared/storage/memory/messageStore.js";
import { type FormPart, multipartBody } from "../support/multipart.js";

const boundary = "----device-boundary-7";
const limits = { bodyBytes: 10 * 1024 * 1024, messageBytes: 5 * 1024 * 1024 };

/** Reads `parts` as intake does, the body arriving in pieces of `piece` bytes. */
async function read(parts: FormPart[], piece = 1 << 20) {
  const bytes = multipartBody(boundary, parts);
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += piece) pieces.push(bytes.subarray(i, i + piece));
  const store = new MemoryMessageStore();
  const message = await readMultipart(
    ReadableStream.from<Uint8Array>(pieces),
    `multipart/form-data; boundary="${boundary}"`,
    "m1",
    store,
    limits,
  );
  const stored = message.attachments.map((a) => ({ ...a, bytes: store.blobs.get(a.blob ?? "") }));
  return { fields: Object.fromEntries(message.fields), attachments: stored, store };
}

async function refused(parts: FormPart[]): Promise<ProblemError> {
  const error = await read(parts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProblemError);
  return error as ProblemError;
}

const pdf = Buffer.from("%PDF-1.7\n\u0000\u0001\u00ff binary \r\n--not-a-boundary\r\n%%EOF", "latin1");
const to = { name: "to", value: "alice@contoso.com" };

describe("multipart file parts, whatever their disposition", () => {
  it.each([
    ["form-data with a filename", 'form-data; name="file"; filename="scan.pdf"'],
    ["attachment", 'attachment; filename="scan.pdf"'],
    ["attachment with a bare token", "attachment; filename=scan.pdf"],
    ["inline", 'inline; filename="scan.pdf"'],
    ["an RFC 2231 UTF-8 name", "attachment; filename*=UTF-8''scan.pdf"],
  ])("%s is an attachment with its bytes", async (_what, disposition) => {
    const { attachments } = await read([
      to,
      { name: "file", value: pdf, disposition, type: "application/pdf" },
    ]);
    expect(attachments).toHaveLength(1);
    expect(attachments[0]).toMatchObject({
      name: "scan.pdf",
      contentType: "application/pdf",
      size: pdf.length,
    });
    expect(attachments[0]?.bytes?.equals(pdf)).toBe(true);
  });

  it("takes a part without Content-Disposition but with a name on its Content-Type as an attachment", async () => {
    const { attachments } = await read([
      to,
      { name: "", value: pdf, disposition: null, type: 'application/pdf; name="scan.pdf"' },
    ]);
    expect(attachments.map((a) => [a.name, a.size])).toEqual([["scan.pdf", pdf.length]]);
  });

  it("decodes RFC 2231 names in other charsets and continuations", async () => {
    const { attachments } = await read([
      to,
      { name: "a", value: "x", disposition: "attachment; filename*=iso-8859-1'de'Rechnung%20M%E4rz.pdf" },
      { name: "b", value: "y", disposition: "attachment; filename*0*=UTF-8''%E2%82%AC; filename*1=uro.pdf" },
    ]);
    expect(attachments.map((a) => a.name)).toEqual(["Rechnung März.pdf", "€uro.pdf"]);
  });

  it("removes bidi and other format characters from file names, and the path", async () => {
    const { attachments } = await read([
      to,
      { name: "file", value: pdf, filename: "C:\\scans\\invoice\u202efdp.exe", type: "application/pdf" },
    ]);
    expect(attachments[0]?.name).toBe("invoicefdp.exe");
  });

  it("keeps form fields as fields, and an empty file input out", async () => {
    const { fields, attachments } = await read([
      to,
      { name: "subject", value: "Scan" },
      { name: "file", value: "", filename: "", type: "application/octet-stream" },
    ]);
    expect(fields).toEqual({ to: ["alice@contoso.com"], subject: ["Scan"] });
    expect(attachments).toEqual([]);
  });

  it("refuses, naming it, a part it cannot place", async () => {
    const anonymous = await refused([
      to,
      { name: "", value: pdf, disposition: null, type: "application/pdf" },
    ]);
    expect(anonymous).toMatchObject({ status: 400, extensions: { part: 2 } });
    expect(anonymous.message).toMatch(/Part 2 has no Content-Disposition and no file name/);

    const strange = await refused([to, { name: "file", value: pdf, disposition: 'signal; name="file"' }]);
    expect(strange.message).toMatch(/Part 2 \(file\) has a Content-Disposition of "signal"/);
  });
});

describe("Content-Transfer-Encoding on a part", () => {
  const lines = (text: string, width: number) =>
    text.match(new RegExp(`.{1,${width}}`, "g"))?.join("\r\n") ?? "";

  it("decodes base64 and quoted-printable, for files and fields", async () => {
    const qp = "Caf=C3=A9 =\r\nau lait=3D=0D=0A";
    const { fields, attachments } = await read([
      to,
      {
        name: "subject",
        value: Buffer.from("Scan été").toString("base64"),
        headers: ["Content-Transfer-Encoding: base64"],
      },
      {
        name: "file",
        value: lines(pdf.toString("base64"), 76),
        filename: "scan.pdf",
        type: "application/pdf",
        headers: ["Content-Transfer-Encoding: BASE64"],
      },
      {
        name: "note",
        value: qp,
        filename: "note.txt",
        type: "text/plain",
        headers: ["Content-Transfer-Encoding: quoted-printable"],
      },
    ]);
    expect(fields.subject).toEqual(["Scan été"]);
    expect(attachments[0]?.bytes?.equals(pdf)).toBe(true);
    expect(attachments[0]?.size).toBe(pdf.length);
    expect(attachments[1]?.bytes?.toString("utf8")).toBe("Café au lait=\r\n");
  });

  it("refuses an encoding it does not know, and base64 that is not base64, naming the part", async () => {
    const unknown = await refused([
      to,
      { name: "file", value: pdf, filename: "scan.pdf", headers: ["Content-Transfer-Encoding: x-uuencode"] },
    ]);
    expect(unknown.message).toMatch(/Part 2 \(file\) has Content-Transfer-Encoding "x-uuencode"/);
    const broken = await refused([
      to,
      {
        name: "file",
        value: "not*base64!",
        filename: "scan.pdf",
        headers: ["Content-Transfer-Encoding: base64"],
      },
    ]);
    expect(broken.message).toMatch(/Part 2 \(file\) is not valid base64/);
  });

  it("stores exactly the bytes sent, however encoded and however the body is cut up", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 20_000 }).map((b) => Buffer.from(b)),
        fc.constantFrom("binary", "base64", "quoted-printable"),
        fc.integer({ min: 1, max: 5000 }),
        async (bytes, encoding, piece) => {
          const value =
            encoding === "base64"
              ? lines(bytes.toString("base64"), 76)
              : encoding === "quoted-printable"
                ? quotedPrintable(bytes)
                : bytes;
          const { attachments } = await read(
            [
              to,
              { name: "file", value, filename: "f.bin", headers: [`Content-Transfer-Encoding: ${encoding}`] },
            ],
            piece,
          );
          expect(attachments[0]?.bytes?.equals(bytes) ?? bytes.length === 0).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** RFC 2045 §6.7 encoding, every byte outside printable ASCII escaped, lines of at most 76 characters. */
function quotedPrintable(bytes: Buffer): string {
  let out = "";
  let line = 0;
  for (const byte of bytes) {
    const text =
      byte >= 33 && byte <= 126 && byte !== 61
        ? String.fromCharCode(byte)
        : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    if (line + text.length > 75) {
      out += "=\r\n";
      line = 0;
    }
    out += text;
    line += text.length;
  }
  return out;
}
