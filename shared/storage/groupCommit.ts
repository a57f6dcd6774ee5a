import type { StateChange } from "./ports.js";

/** One caller's change waiting in a group: applied (perhaps more than once), then settled with its result. */
interface Member<S> {
  apply(current: S | undefined): S | undefined;
  settle(): void;
  fail(error: unknown): void;
}

/**
 * Group commit of optimistic updates within one process: changes to a key that arrive while an update of that
 * key is under way wait for it, then go together, applied in arrival order to one state read (or remembered)
 * and stored in one conditional write. Each caller gets the result its change gave on the state the ones
 * before it left, as if they had run one after the other; none races another of this process for the ETag.
 */
export class GroupCommit<S> {
  private readonly waiting = new Map<string, Member<S>[]>();
  private readonly busy = new Set<string>();

  constructor(
    /** Stores a group: one optimistic update applying `change` (which may run more than once). */
    private readonly commit: (
      key: string,
      change: (current: S | undefined) => StateChange<S, undefined>,
    ) => Promise<void>,
  ) {}

  update<T>(key: string, change: (current: S | undefined) => StateChange<S, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let outcome: { result: T } | undefined;
      const group = this.waiting.get(key) ?? [];
      group.push({
        apply: (current) => {
          const { state, result } = change(current);
          outcome = { result };
          return state;
        },
        settle: () => (outcome ? resolve(outcome.result) : reject(new Error("change never applied"))),
        fail: reject,
      });
      this.waiting.set(key, group);
      if (!this.busy.has(key)) void this.drain(key);
    });
  }

  /** Commits the key's waiting group, then the one gathered meanwhile, until none is left. Never throws. */
  private async drain(key: string): Promise<void> {
    this.busy.add(key);
    try {
      for (let group = this.waiting.get(key); group; group = this.waiting.get(key)) {
        this.waiting.delete(key);
        const members = group;
        try {
          await this.commit(key, (current) => {
            let state = current;
            let changed = false;
            for (const member of members) {
              const next = member.apply(state);
              if (next !== undefined) {
                state = next;
                changed = true;
              }
            }
            return { state: changed ? state : undefined, result: undefined };
          });
          for (const member of members) member.settle();
        } catch (error) {
          for (const member of members) member.fail(error);
        }
      }
    } finally {
      this.busy.delete(key);
    }
  }
}
