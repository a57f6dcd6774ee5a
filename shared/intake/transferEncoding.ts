import { Transform, type TransformCallback } from "node:stream";

export class TransferEncodingError extends Error {}

/**
 * A decoder for a part's Content-Transfer-Encoding (RFC 2045 §6): "identity" for 7bit, 8bit and binary, a
 * stream for base64 and quoted-printable (RFC 7578 §4.7 deprecates them in form data, but devices still send
 * them), and undefined for anything else (the caller refuses the part).
 */
export function transferDecoder(encoding: string | undefined): Transform | "identity" | undefined {
  const name = (encoding ?? "binary").trim().toLowerCase();
  if (name === "7bit" || name === "8bit" || name === "binary") return "identity";
  if (name === "base64") return decoding(new Base64());
  if (name === "quoted-printable") return decoding(new QuotedPrintable());
  return undefined;
}

/** Incremental decoding: each chunk in, the bytes it completes out; `end` checks nothing is left over. */
interface IncrementalDecoder {
  push(chunk: Buffer): Buffer;
  end(): void;
}

function decoding(decoder: IncrementalDecoder): Transform {
  const run = (step: () => Buffer | undefined, callback: TransformCallback) => {
    try {
      callback(null, step());
    } catch (error) {
      callback(error as Error);
    }
  };
  return new Transform({
    transform: (chunk: Buffer, _encoding, callback) => run(() => decoder.push(chunk), callback),
    flush: (callback) =>
      run(() => {
        decoder.end();
        return undefined;
      }, callback),
  });
}

/** Strict base64 (RFC 4648 §4) with line breaks and other whitespace ignored; anything else is an error. */
class Base64 implements IncrementalDecoder {
  private carry = "";
  private padded = false;

  push(chunk: Buffer): Buffer {
    const text = this.carry + chunk.toString("latin1").replace(/\s+/g, "");
    if (this.padded && text.length > 0)
      throw new TransferEncodingError("base64 that goes on after its padding");
    // Padding ("=" or "==") may only end the data; it may arrive in a later chunk than its group.
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new TransferEncodingError("not valid base64");
    const whole = text.length - (text.length % 4);
    const groups = text.slice(0, whole);
    this.carry = text.slice(whole);
    if (groups.endsWith("=")) this.padded = true;
    return Buffer.from(groups, "base64");
  }

  end(): void {
    if (this.carry.length > 0) throw new TransferEncodingError("not valid base64 (it stops mid-group)");
  }
}

/** Quoted-printable (RFC 2045 §6.7): `=XX` is an octet, `=` at a line end a soft line break. */
class QuotedPrintable implements IncrementalDecoder {
  private carry = Buffer.alloc(0);

  push(chunk: Buffer): Buffer {
    const input = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const out = Buffer.allocUnsafe(input.length);
    let length = 0;
    let i = 0;
    for (; i < input.length; i++) {
      const byte = input[i] ?? 0;
      if (byte !== 0x3d) {
        out[length++] = byte;
        continue;
      }
      // "=" needs the two bytes after it: keep it for the next chunk until they arrive.
      if (i + 2 >= input.length) break;
      const next = input.subarray(i + 1, i + 3).toString("latin1");
      if (next === "\r\n") i += 2;
      else if (/^[0-9A-Fa-f]{2}$/.test(next)) {
        out[length++] = Number.parseInt(next, 16);
        i += 2;
      } else if (next.startsWith("\n"))
        i += 1; // a soft break with a bare LF
      else throw new TransferEncodingError(`not valid quoted-printable ("=${next}")`);
    }
    this.carry = Buffer.from(input.subarray(i));
    return out.subarray(0, length);
  }

  end(): void {
    // A lone "=" at the very end (a soft break before the end) is fine; "=X" is not.
    if (this.carry.length > 0 && !/^=\r?\n?$/.test(this.carry.toString("latin1"))) {
      throw new TransferEncodingError("not valid quoted-printable (it stops mid-escape)");
    }
  }
}
