/**
 * The steps of one request that must be undone together when it is not accepted in the end: each step that
 * succeeded adds its undo; `forget` once the request is accepted; `run` (in a `finally`) undoes the rest,
 * newest first, so nothing is left half-stored.
 */
export class UndoList {
  private steps: (() => Promise<unknown>)[] = [];

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  forget(): void {
    this.steps = [];
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step();
  }
}
