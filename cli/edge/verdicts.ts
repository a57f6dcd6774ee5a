import { createHash } from "node:crypto";
import type { Identity } from "./apiClient.js";

/**
 * The API's verdicts on keys and senders, kept briefly so a device sending many messages costs one lookup
 * per minute rather than one per message. Keyed by the key's SHA-256 (the key itself is never a map key or
 * logged); bounded in size; a verdict the API could not give is never kept.
 */
export class VerdictCache {
  private readonly entries = new Map<string, { identity: Identity; expiresAtMs: number }>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 10_000,
    private readonly nowMs: () => number = Date.now,
  ) {}

  get(key: string, sender?: string): Identity | undefined {
    const id = entryId(key, sender);
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.nowMs()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.identity;
  }

  set(key: string, sender: string | undefined, identity: Identity): void {
    const id = entryId(key, sender);
    this.entries.delete(id);
    this.entries.set(id, { identity, expiresAtMs: this.nowMs() + this.ttlMs });
    // Map order is insertion order: the oldest entry goes first.
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** Forgets everything about `key` (the API refused it after all). */
  forget(key: string): void {
    const prefix = `${hash(key)} `;
    for (const id of this.entries.keys()) if (id.startsWith(prefix)) this.entries.delete(id);
  }
}

const hash = (key: string) => createHash("sha256").update(key, "utf8").digest("hex");
const entryId = (key: string, sender?: string) => `${hash(key)} ${sender?.toLowerCase() ?? ""}`;
