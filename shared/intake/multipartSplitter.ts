import { Readable, Writable } from "node:stream";

/** One part of a multipart body, as it streams: its raw header block and its (still encoded) bytes. */
export interface RawPart {
  /** 1-based position in the body, to name the part in an error. */
  index: number;
  headerBlock: string;
  body: Readable;
}

export class MultipartSyntaxError extends Error {}

const crlf = Buffer.from("\r\n");
const headerEnd = Buffer.from("\r\n\r\n");
const maxHeaderBytes = 16 * 1024;
// RFC 2046 §5.1.1 allows whitespace ("transport padding") after a boundary; a line this long is not that.
const maxBoundaryLineBytes = 1024;

type State = "preamble" | "afterBoundary" | "headers" | "body" | "epilogue";

/**
 * Splits a `multipart/*` body (RFC 2046 §5.1) into parts as the bytes arrive, whatever each part's
 * headers say: which parts mean what is the reader's decision (busboy, by contrast, silently skips a part
 * whose Content-Disposition is not `form-data`). Each part's body is a stream with backpressure; at most one
 * boundary's length of bytes is held back. Emits `part` (RawPart); fails with a MultipartSyntaxError for a
 * body that ends before its closing boundary or has a malformed part header block.
 */
export class MultipartSplitter extends Writable {
  private readonly delimiter: Buffer;
  // The body as if preceded by CRLF, so the first boundary matches the same delimiter as the others.
  private pending: Buffer = crlf;
  private state: State = "preamble";
  private part: Readable | undefined;
  private parts = 0;
  private resume: (() => void) | undefined;

  constructor(boundary: string) {
    super();
    this.delimiter = Buffer.from(`\r\n--${boundary}`, "latin1");
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.process(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.state !== "epilogue") {
      const error = new MultipartSyntaxError("the body ends before its closing boundary");
      this.part?.destroy(error);
      callback(error);
      return;
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (error) this.part?.destroy(error);
    callback(error);
  }

  private process(callback: (error?: Error | null) => void): void {
    try {
      for (;;) {
        if (this.state === "epilogue") {
          this.pending = Buffer.alloc(0);
          break;
        }
        if (this.state === "body") {
          const at = this.pending.indexOf(this.delimiter);
          const safe = at >= 0 ? at : Math.max(0, this.pending.length - (this.delimiter.length - 1));
          const data = this.pending.subarray(0, safe);
          this.pending = this.pending.subarray(at >= 0 ? at + this.delimiter.length : safe);
          const accepted = data.length === 0 || this.part!.push(data);
          if (at >= 0) {
            // The part is complete (its reader has it all, buffered); go on with the next one.
            this.part!.push(null);
            this.part = undefined;
            this.state = "afterBoundary";
            continue;
          }
          if (!accepted) {
            // Backpressure: go on when the part's reader asks for more.
            this.resume = () => this.process(callback);
            return;
          }
          break;
        }
        if (!this.step()) break;
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  /** One step outside a part's body; false when more bytes are needed. */
  private step(): boolean {
    switch (this.state) {
      case "preamble": {
        const at = this.pending.indexOf(this.delimiter);
        if (at < 0) {
          this.pending = this.pending.subarray(
            Math.max(0, this.pending.length - (this.delimiter.length - 1)),
          );
          return false;
        }
        this.pending = this.pending.subarray(at + this.delimiter.length);
        this.state = "afterBoundary";
        return true;
      }
      case "afterBoundary": {
        if (this.pending.length < 2) return false;
        if (this.pending[0] === 0x2d && this.pending[1] === 0x2d) {
          this.state = "epilogue";
          return true;
        }
        const end = this.pending.indexOf(crlf);
        if (end < 0) {
          if (this.pending.length > maxBoundaryLineBytes)
            throw new MultipartSyntaxError("a boundary line is malformed");
          return false;
        }
        if (!/^[ \t]*$/.test(this.pending.subarray(0, end).toString("latin1"))) {
          throw new MultipartSyntaxError("a boundary line is malformed");
        }
        this.pending = this.pending.subarray(end + 2);
        this.state = "headers";
        return true;
      }
      case "headers": {
        // A part without header fields starts its body right after the boundary line's CRLF.
        const empty = this.pending.length >= 2 && this.pending[0] === 0x0d && this.pending[1] === 0x0a;
        const end = empty ? -2 : this.pending.indexOf(headerEnd);
        if (!empty && end < 0) {
          if (this.pending.length > maxHeaderBytes) {
            throw new MultipartSyntaxError(
              `part ${this.parts + 1} has more than ${maxHeaderBytes} bytes of headers`,
            );
          }
          return false;
        }
        const block = empty ? Buffer.alloc(0) : this.pending.subarray(0, end);
        this.pending = this.pending.subarray(end + 4);
        this.state = "body";
        this.part = new Readable({
          read: () => {
            const resume = this.resume;
            this.resume = undefined;
            resume?.();
          },
        });
        // Its reader sees a failure through its own listeners; a part nobody reads must not crash the process.
        this.part.on("error", () => {});
        this.emit("part", {
          index: ++this.parts,
          headerBlock: decodeHeaderBlock(block),
          body: this.part,
        } satisfies RawPart);
        return true;
      }
      default:
        return false;
    }
  }
}

/** Header blocks are ASCII by RFC, but devices and browsers put UTF-8 file names in them; else latin1. */
function decodeHeaderBlock(block: Buffer): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(block);
  } catch {
    return block.toString("latin1");
  }
}
