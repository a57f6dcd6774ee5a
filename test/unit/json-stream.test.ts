import { createHash } from "node:crypto";
import { ReadableStream } from "node:stream/web";
import fc from "fast-check";
import { getManyValues, type Many, none } from "stream-chain/core";
import { jsonParser, type Token } from "stream-json/core/parser.js";
import { describe, expect, it } from "vitest";
import { type JsonMessage, jsonMessageSchema } from "../../shared/domain/message.js";
import { ProblemError } from "../../shared/domain/problem.js";
import { validate } from "../../shared/domain/validate.js";
import { Base64Decoder } from "../../shared/intake/base64.js";
import { readJsonMessage } from "../../shared/intake/jsonMessage.js";
import {
  JsonAssembler,
  type JsonBounds,
  type JsonPath,
  type StringSink,
} from "../../shared/intake/jsonTokens.js";
import { MemoryMessageStore } from "../../shared/storage/memory/messageStore.js";

/** Cuts `text` at the given fractions: how a body may arrive. */
function split(text: string, cuts: number[]): string[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * text.length)))].sort((a, b) => a - b);
  return [0, ...at].map((start, i) => text.slice(start, at[i] ?? text.length));
}

const roomy: JsonBounds = { maxDepth: 1000, maxValues: 1_000_000, maxTextChars: 10_000_000 };

/** Parses pieces with stream-json's tokenizer into the assembler, as intake does. */
async function assemble(
  pieces: string[],
  bounds = roomy,
  route: (path: JsonPath) => StringSink | undefined = () => undefined,
) {
  const parse = jsonParser({ packValues: false }) as (
    text: string | typeof none,
  ) => Many<Token> | typeof none;
  const assembler = new JsonAssembler(bounds, route);
  const feed = async (text: string | typeof none) => {
    const tokens = parse(text);
    await assembler.consume(tokens === none ? [] : getManyValues(tokens));
  };
  for (const piece of pieces) await feed(piece);
  await feed(none);
  return assembler.result();
}

function problemOf(error: unknown): { status: number; fields: string[]; detail: string } {
  if (!(error instanceof ProblemError)) throw error;
  return { status: error.status, fields: (error.errors ?? []).map((e) => e.field), detail: error.message };
}

describe("streamed base64", () => {
  it("decodes any base64, cut anywhere and wrapped in whitespace, to what Buffer.from decodes whole", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        fc.boolean(),
        (bytes, cuts, wrap) => {
          let text = Buffer.from(bytes).toString("base64");
          if (wrap) text = text.replace(/(.{76})/g, "$1\r\n");
          const decoder = new Base64Decoder("f");
          const out = split(text, cuts).map((piece) => decoder.write(piece));
          decoder.end();
          expect(Buffer.concat(out).equals(Buffer.from(bytes))).toBe(true);
        },
      ),
    );
  });

  it("accepts exactly what the message schema accepts as contentBytes, wherever the string is cut", () => {
    const alphabet = fc.constantFrom(..."AQgw+/=\n -!é".split(""), "AAAA", "==");
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 12 }).map((a) => a.join("")),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
        (text, cuts) => {
          const schema = jsonMessageSchema.safeParse({
            to: ["a@contoso.com"],
            subject: "s",
            attachments: [{ name: "a", contentBytes: text }],
          }).success;
          const decoder = new Base64Decoder("attachments[0].contentBytes");
          let streamed = true;
          try {
            for (const piece of split(text, cuts)) decoder.write(piece);
            decoder.end();
          } catch (error) {
            expect(problemOf(error).fields).toEqual(["attachments[0].contentBytes"]);
            streamed = false;
          }
          expect(streamed).toBe(schema);
        },
      ),
    );
  });

  it("refuses a bad character at once, before the string ends", () => {
    const decoder = new Base64Decoder("attachments[2].contentBytes");
    decoder.write("QUJD".repeat(1000));
    expect(() => decoder.write("QU*D")).toThrow(ProblemError);
  });
});

describe("JSON assembled from tokens", () => {
  it("builds what JSON.parse builds, however the text is cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 }),
        async (value, cuts) => {
          const text = JSON.stringify(value);
          expect(await assemble(split(text, cuts))).toStrictEqual(JSON.parse(text));
        },
      ),
    );
  });

  it("keeps __proto__ as an own property, as JSON.parse does", async () => {
    const value = (await assemble(['{"__proto__": {"polluted": true}}'])) as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a key given twice, naming it", async () => {
    const error = await assemble(['{"to": "a@x.com", "cc": [], "to": "b@x.com"}']).catch(problemOf);
    expect(error).toMatchObject({ status: 422, fields: ["to"] });
    const nested = await assemble(['{"attachments": [{"name": "a", "na', 'me": "b"}]}']).catch(problemOf);
    expect(nested).toMatchObject({ status: 422, fields: ["attachments[0].name"] });
  });

  it("names the depth, value and text bounds where a body passes them", async () => {
    const bounds: JsonBounds = { maxDepth: 4, maxValues: 10, maxTextChars: 20 };
    expect(await assemble(['{"a": [[[[1]]]]}'], bounds).catch(problemOf)).toMatchObject({
      status: 422,
      fields: ["a[0][0][0]"],
      detail: expect.stringContaining("deeper than 4 levels"),
    });
    expect(await assemble(["[1,2,3,4,5,6,7,8,9,10]"], bounds).catch(problemOf)).toMatchObject({
      fields: ["[9]"],
      detail: expect.stringContaining("10 values"),
    });
    expect(
      await assemble(['{"subject": "x", "html": "', "y".repeat(30), '"}'], bounds).catch(problemOf),
    ).toMatchObject({
      fields: ["html"],
      detail: expect.stringContaining("20 characters"),
    });
  });

  it("hands a routed string to its sink in pieces and keeps an empty string in its place", async () => {
    const received: string[] = [];
    let ended = false;
    const sink: StringSink = {
      write: async (text) => {
        received.push(text);
      },
      end: async () => {
        ended = true;
      },
    };
    const long = "QUJD".repeat(50_000);
    const pieces = split(JSON.stringify({ a: [{ b: long }], c: "short" }), [0.1, 0.5, 0.9]);
    const bounds: JsonBounds = { maxDepth: 8, maxValues: 100, maxTextChars: 100 };
    // Kept, the long string passes the text bound; handed to a sink, it never counts against it.
    expect(await assemble(pieces, bounds).catch(problemOf)).toMatchObject({
      status: 422,
      fields: ["a[0].b"],
    });
    const value = await assemble(pieces, bounds, (path) => (path.join(".") === "a.0.b" ? sink : undefined));
    expect(value).toStrictEqual({ a: [{ b: "" }], c: "short" });
    expect(received.join("")).toBe(long);
    expect(received.length).toBeGreaterThan(1);
    expect(ended).toBe(true);
  });
});

describe("streamed JSON intake beside the whole-body intake it replaced", () => {
  const store = new MemoryMessageStore();
  const limits = { bodyBytes: 10 * 1024 * 1024, messageBytes: 8 * 1024 * 1024 };
  let n = 0;

  /** What intake answered before streaming: JSON.parse, the schema, Buffer.from per attachment. */
  function wholeBody(text: string) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { status: 400, fields: [] as string[] };
    }
    let json: JsonMessage;
    try {
      json = validate(jsonMessageSchema, value);
    } catch (error) {
      return problemOf(error);
    }
    const attachments = json.attachments.map((a) => {
      const bytes = Buffer.from(a.contentBase64, "base64");
      return { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
    });
    const { attachments: _bytes, ...fields } = json;
    return { status: 202, fields: [] as string[], message: { fields, attachments } };
  }

  async function streamed(text: string, cuts: number[]) {
    const body = ReadableStream.from(split(text, cuts).map((piece) => Buffer.from(piece)));
    try {
      const read = await readJsonMessage(body, {
        id: `parity-${n++}`,
        store,
        limits,
        recipientsPerMessage: 500,
      });
      const { attachments: _placeholders, ...fields } = read.fields;
      const attachments = read.attachments.map(({ size, sha256 }) => ({ size, sha256 }));
      return { status: 202, fields: [] as string[], message: { fields, attachments } };
    } catch (error) {
      return problemOf(error);
    }
  }

  const address = fc.oneof(
    { arbitrary: fc.constantFrom("alice@contoso.com", "Bob <bob@contoso.com>"), weight: 4 },
    fc.string(),
  );
  const contentBytes = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b).toString("base64")),
    fc
      .uint8Array({ maxLength: 300 })
      .map((b) => ({ "$content-type": "application/pdf", $content: Buffer.from(b).toString("base64") })),
    fc.constantFrom("not base64!", "QUJ", { $content: "QU=D" }, 7, null),
  );
  const entry = fc.oneof(
    fc.tuple(fc.constant("to"), fc.oneof(fc.array(address, { maxLength: 3 }), address)),
    fc.tuple(fc.constant("cc"), fc.array(address, { maxLength: 2 })),
    fc.tuple(fc.constant("subject"), fc.oneof(fc.string(), fc.constant("Hi\r\nBcc: x@y.z"), fc.integer())),
    fc.tuple(fc.constant("text"), fc.string()),
    fc.tuple(
      fc.constant("attachments"),
      fc.array(fc.record({ name: fc.string(), contentBytes }, { requiredKeys: ["contentBytes"] }), {
        maxLength: 3,
      }),
    ),
    fc.tuple(
      fc.constant("headers"),
      fc.dictionary(fc.constantFrom("X-A", "X-B", "Subject"), fc.string(), { maxKeys: 2 }),
    ),
    fc.tuple(fc.constantFrom("priority", "metadata"), fc.jsonValue({ maxDepth: 2 })),
  );

  it("accepts the same messages with the same fields and attachment hashes, and refuses the rest the same way", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(entry, { selector: ([key]) => key, maxLength: 7 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
        fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, fc.nat(100)),
        fc.boolean(),
        async (entries, cuts, truncateAt, complete) => {
          const message: Record<string, unknown> = Object.fromEntries(entries);
          // Most messages valid, with to and subject after whatever came (attachments first, often).
          if (complete) message.to ??= "alice@contoso.com";
          if (complete) message.subject ??= "Hi";
          let text = JSON.stringify(message);
          if (truncateAt !== undefined) text = text.slice(0, Math.floor((text.length * truncateAt) / 100));
          const before = wholeBody(text);
          const now = await streamed(text, cuts);
          // Bad base64 is answered as soon as it arrives: a 422 even when the body turns out malformed later.
          const earlyBase64 = now.status === 422 && now.fields.every((f) => f.includes("contentBytes"));
          if (before.status === 400 && earlyBase64) return;
          expect(now.status).toBe(before.status);
          if (before.status === 202) expect(now).toStrictEqual(before);
          // ... and then the fields after it are not looked at.
          else for (const field of now.fields) expect(before.fields).toContain(field);
          if (before.status === 422 && !before.fields.some((f) => /contentBytes/.test(f)))
            expect(now.fields.sort()).toEqual(before.fields.sort());
        },
      ),
      { numRuns: 500 },
    );
  });
});
