import type { Token } from "stream-json/core/parser.js";
import { fieldName } from "../domain/message.js";
import { invalidField } from "../domain/problem.js";

/** How much of a JSON body the assembler keeps in memory; each bound, when passed, is a 422 naming it. */
export interface JsonBounds {
  /** Objects and arrays inside one another, the body itself counting as the first. */
  maxDepth: number;
  /** Values of any kind (objects, arrays, strings, numbers, true, false, null), list entries included. */
  maxValues: number;
  /** Characters of every key, string and number kept; a string handed to a sink does not count. */
  maxTextChars: number;
}

/** Where a streamed string goes instead of into the assembled value (which then holds `""` in its place). */
export interface StringSink {
  /** Takes the next characters of the string; resolves when it can take more. */
  write(text: string): Promise<void>;
  /** The string ended. */
  end(): Promise<void>;
}

/** A field's place in the body: keys and list indices, as `fieldName` turns them into `attachments[0].name`. */
export type JsonPath = readonly (string | number)[];

interface Frame {
  container: Record<string, unknown> | unknown[];
  path: JsonPath;
  /** The key whose value comes next (objects only). */
  key?: string;
}

/**
 * Builds a value from stream-json's token stream (`packValues: false`: every key, string and number arrives
 * in pieces), as `JSON.parse` would, within `bounds`, so a hostile body cannot make it hold more than they
 * allow. `route` may claim a string by its path before its first piece arrives: the pieces then go to that
 * sink, never into memory here. A key given twice in one object is refused (RFC 8259 §4 leaves what it means
 * to the reader, and two readers disagreeing is how a checked value gets swapped for an unchecked one).
 */
export class JsonAssembler {
  private readonly stack: Frame[] = [];
  private root: { value: unknown } | undefined;
  private values = 0;
  private textChars = 0;
  /** The pieces of the key, string or number being read. */
  private pieces: string[] = [];
  /** Where the key, string or number being read is: a key is named by its object. */
  private textPath: JsonPath = [];
  private sink: StringSink | undefined;

  constructor(
    private readonly bounds: JsonBounds,
    private readonly route: (path: JsonPath) => StringSink | undefined,
  ) {}

  /** Takes the tokens of one piece of the body; waits only when a sink asks it to. */
  async consume(tokens: readonly Token[]): Promise<void> {
    for (const token of tokens) {
      switch (token.name) {
        case "startObject":
          this.open({});
          break;
        case "startArray":
          this.open([]);
          break;
        case "endObject":
        case "endArray":
          this.stack.pop();
          break;
        case "startKey":
          this.textPath = this.stack.at(-1)?.path ?? [];
          this.pieces = [];
          break;
        case "endKey":
          this.setKey(this.takeText());
          break;
        case "startString":
          this.textPath = this.begin();
          this.pieces = [];
          this.sink = this.route(this.textPath);
          break;
        case "stringChunk":
          if (this.sink) this.pieces.push(token.value);
          else this.keep(token.value);
          break;
        case "endString": {
          const sink = this.sink;
          if (!sink) {
            this.place(this.takeText());
            break;
          }
          await this.flush(sink);
          this.sink = undefined;
          await sink.end();
          this.place("");
          break;
        }
        case "startNumber":
          this.textPath = this.begin();
          this.pieces = [];
          break;
        case "numberChunk":
          this.keep(token.value);
          break;
        case "endNumber":
          this.place(Number(this.takeText()));
          break;
        case "nullValue":
        case "trueValue":
        case "falseValue":
          this.begin();
          this.place(token.value);
          break;
        default:
          // Packed tokens (keyValue, stringValue, numberValue) do not come with packValues: false.
          break;
      }
    }
    if (this.sink) await this.flush(this.sink);
  }

  /** The whole value; call once the parser has seen the end of the body. */
  result(): unknown {
    if (!this.root || this.stack.length > 0) throw new Error("the JSON body has not ended");
    return this.root.value;
  }

  /** Counts a value that starts here and gives its path. */
  private begin(): JsonPath {
    const path = this.nextPath();
    if (++this.values > this.bounds.maxValues) {
      throw invalidField(
        fieldName(path) || "body",
        `is past the ${this.bounds.maxValues} values (fields and list entries) a message's JSON may hold`,
      );
    }
    return path;
  }

  private nextPath(): JsonPath {
    const frame = this.stack.at(-1);
    if (!frame) return [];
    if (Array.isArray(frame.container)) return [...frame.path, frame.container.length];
    return [...frame.path, frame.key ?? ""];
  }

  private open(container: Record<string, unknown> | unknown[]): void {
    const path = this.begin();
    if (this.stack.length >= this.bounds.maxDepth) {
      throw invalidField(
        fieldName(path) || "body",
        `nests deeper than ${this.bounds.maxDepth} levels, the most a message's JSON may`,
      );
    }
    this.place(container);
    this.stack.push({ container, path });
  }

  private setKey(key: string): void {
    const frame = this.stack.at(-1);
    if (!frame || Array.isArray(frame.container)) throw new Error("a key outside an object");
    if (Object.hasOwn(frame.container, key))
      throw invalidField(fieldName([...frame.path, key]), "is given more than once");
    frame.key = key;
  }

  private place(value: unknown): void {
    const frame = this.stack.at(-1);
    if (!frame) {
      this.root = { value };
      return;
    }
    if (Array.isArray(frame.container)) {
      frame.container.push(value);
      return;
    }
    // An own property even for "__proto__", as JSON.parse makes it: never the object's prototype.
    Object.defineProperty(frame.container, frame.key ?? "", {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
    frame.key = undefined;
  }

  private keep(piece: string): void {
    this.textChars += piece.length;
    if (this.textChars > this.bounds.maxTextChars) {
      throw invalidField(
        fieldName(this.textPath) || "body",
        `is past the ${this.bounds.maxTextChars} characters a message's JSON may hold outside attachments' contentBytes; send large content as an attachment`,
      );
    }
    this.pieces.push(piece);
  }

  private takeText(): string {
    const text = this.pieces.join("");
    this.pieces = [];
    return text;
  }

  private async flush(sink: StringSink): Promise<void> {
    if (this.pieces.length === 0) return;
    await sink.write(this.takeText());
  }
}
