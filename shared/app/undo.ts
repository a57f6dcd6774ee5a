export interface UndoOptions {
  /** How long the steps may keep retrying in all (a storage outage up to about this long is undone). */
  budgetMs: number;
  /** How long the request waits for them before it answers; the rest goes on without it. */
  waitMs: number;
  sleep(ms: number): Promise<void>;
}

const defaultOptions: UndoOptions = {
  budgetMs: 120_000,
  waitMs: 3_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * The steps of one request that must be undone together when it is not accepted in the end: each step that
 * succeeded (or may have) adds its undo; `forget` once the request is accepted; `run` (in a `finally`)
 * undoes the rest, newest first, so nothing is left half-stored. A failing step (the storage that failed the
 * request is often what fails its undo) is retried with backoff within the budget. The request waits a few
 * seconds for that, then answers while the undo goes on (so an outage is answered 503 at once, not after
 * a minute); whatever is still not undone at the end is reported.
 */
export class UndoList {
  private steps: (() => Promise<unknown>)[] = [];

  constructor(private readonly options: UndoOptions = defaultOptions) {}

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  forget(): void {
    this.steps = [];
  }

  /** Undoes what is left; `report` gets the errors of the steps that could not be undone within the budget. */
  async run(report: (failures: unknown[]) => void): Promise<void> {
    const steps = this.steps.splice(0).reverse();
    if (steps.length === 0) return;
    const work = this.undo(steps).then((failures) => {
      if (failures.length > 0) report(failures);
    });
    await Promise.race([work, this.options.sleep(this.options.waitMs)]);
  }

  private async undo(steps: (() => Promise<unknown>)[]): Promise<unknown[]> {
    const deadline = Date.now() + this.options.budgetMs;
    const failures: unknown[] = [];
    for (const step of steps) {
      for (let attempt = 0; ; attempt++) {
        try {
          await step();
          break;
        } catch (error) {
          const waitMs = Math.min(5000, 250 * 2 ** attempt);
          if (Date.now() + waitMs > deadline) {
            failures.push(error);
            break;
          }
          await this.options.sleep(waitMs);
        }
      }
    }
    return failures;
  }
}
