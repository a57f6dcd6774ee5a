import type { OutboundQueue } from "../ports.js";

/** In-memory OutboundQueue recording what was sent and with which delay. */
export class MemoryQueue implements OutboundQueue {
  readonly sent: { text: string; delayMs: number }[] = [];

  async send(text: string, options: { delayMs?: number } = {}): Promise<void> {
    this.sent.push({ text, delayMs: options.delayMs ?? 0 });
  }

  /** Everything sent: the fake has no consumer taking messages away. */
  async approximateCount(): Promise<number> {
    return this.sent.length;
  }
}
