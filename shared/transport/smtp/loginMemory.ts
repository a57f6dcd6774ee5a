import type { TransportName } from "../../domain/client.js";

/**
 * Password logins that worked, per transport and mailbox, shared by every instance: the storage port
 * `LoginHistoryStore` (shared/storage/ports.ts) has this shape, and the composition root passes it in.
 */
export interface PasswordLoginHistory {
  /** When a password login of `mailbox` last succeeded (epoch ms), or undefined when none is known. */
  lastSuccessAt(transport: TransportName, mailbox: string): Promise<number | undefined>;
  recordSuccess(transport: TransportName, mailbox: string, atMs: number): Promise<void>;
}

// A success is written at most this often per mailbox from one process: the memory needs the day a password
// last worked, not every send.
const refreshMs = 3600_000;

/**
 * Remembers that a mailbox's password worked, so a later `535 5.7.3` can be read as "basic authentication was
 * turned off" rather than "wrong password". Only the advice in a status reason depends on it: a store that
 * fails or has forgotten changes the wording, never whether a message is sent (every 535 is final anyway).
 */
export class PasswordLoginMemory {
  private readonly written = new Map<string, number>();

  constructor(
    private readonly history: PasswordLoginHistory | undefined,
    private readonly transport: TransportName,
    private readonly now: () => number = Date.now,
  ) {}

  async succeeded(mailbox: string): Promise<void> {
    const key = mailbox.toLowerCase();
    const at = this.now();
    const last = this.written.get(key);
    if (!this.history || (last !== undefined && at - last < refreshMs)) return;
    this.written.set(key, at);
    // Best effort: the message was sent; losing this write only loses some precision in later advice.
    await this.history.recordSuccess(this.transport, key, at).catch(() => this.written.delete(key));
  }

  async workedAt(mailbox: string): Promise<number | undefined> {
    const key = mailbox.toLowerCase();
    const stored = await this.history?.lastSuccessAt(this.transport, key).catch(() => undefined);
    const local = this.written.get(key);
    return stored === undefined ? local : Math.max(stored, local ?? 0);
  }
}
