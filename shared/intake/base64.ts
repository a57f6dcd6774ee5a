import { notBase64 } from "../domain/message.js";
import { invalidField } from "../domain/problem.js";

// The schema's rule for contentBytes (shared/domain/message.ts), piece by piece: whitespace is ignored, the
// rest is the standard alphabet (RFC 4648 §4) with at most two "=" at the very end, and its length is a
// multiple of 4.
const whitespace = /\s+/g;
const alphabet = /^[A-Za-z0-9+/]*=*$/;
const padding = /^=*$/;

/**
 * Decodes base64 that arrives in pieces (a long JSON string as the streaming parser hands it over), so the
 * bytes can be stored as they come. A piece that breaks the rule throws at once, as a 422 naming `field`,
 * without waiting for the rest of the string.
 */
export class Base64Decoder {
  /** Significant characters (whitespace removed) not yet decoded: fewer than 4. */
  private carry = "";
  private characters = 0;
  private pads = 0;

  constructor(private readonly field: string) {}

  /** The bytes `piece` completes (whole groups of 4 characters); the rest waits for the next piece. */
  write(piece: string): Buffer {
    const text = piece.replace(whitespace, "");
    if (text.length === 0) return Buffer.alloc(0);
    if (!(this.pads > 0 ? padding : alphabet).test(text)) throw this.invalid();
    const firstPad = text.indexOf("=");
    if (firstPad >= 0) this.pads += text.length - firstPad;
    if (this.pads > 2) throw this.invalid();
    this.characters += text.length;
    const pending = this.carry + text;
    const whole = pending.length - (pending.length % 4);
    this.carry = pending.slice(whole);
    return Buffer.from(pending.slice(0, whole), "base64");
  }

  /** Checks that the string ended on a whole group; throws the 422 otherwise. */
  end(): void {
    if (this.characters % 4 !== 0) throw this.invalid();
  }

  private invalid() {
    return invalidField(this.field, notBase64);
  }
}
