/**
 * The last version of entities this process read or wrote, with the ETag the service gave it, bounded: the
 * least recently used go first. A remembered version saves the read before a conditional write; it is never
 * trusted as the truth: the write names its ETag, so a version another instance replaced meanwhile costs one
 * refused write (412) and a read, as a lost race always did.
 */
export class RecentVersions<S, V> {
  private readonly entries = new Map<string, { state: S; version: V }>();

  constructor(
    /** Entities kept at most; 0 remembers nothing (every update reads first). */
    readonly capacity: number,
  ) {}

  get(key: string): { state: S; version: V } | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // Map iteration follows insertion: re-inserting makes this the most recently used.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, state: S, version: V | undefined): void {
    this.entries.delete(key);
    if (version === undefined || this.capacity === 0) return;
    this.entries.set(key, { state, version });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(oldest);
    }
  }

  /** Forgets `key`; with `version`, only while that is the version remembered (a newer one stays). */
  delete(key: string, version?: V): void {
    if (version === undefined || this.entries.get(key)?.version === version) this.entries.delete(key);
  }
}
