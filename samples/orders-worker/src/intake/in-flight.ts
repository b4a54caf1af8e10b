/**
 * Counts the messages a consumer holds (received, not yet acked) and tells when there are none.
 * Plain bookkeeping: the consumer's `@onStop` awaits `idle()` after it stopped fetching.
 */
export class InFlight {
  #count = 0;
  #waiters: (() => void)[] = [];

  get size(): number {
    return this.#count;
  }

  /** Counts `work` in until it settles. */
  track(work: Promise<unknown>): void {
    this.#count++;
    const done = (): void => {
      this.#count--;
      this.#wake();
    };
    work.then(done, done); // the consumer handles (and logs) its own failures

  }

  /** Resolves when at most `max` are in flight (0: none). */
  below(max = 0): Promise<void> {
    if (this.#count <= max) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.#count <= max) resolve();
        else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  idle(): Promise<void> {
    return this.below(0);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const check of waiters) check();
  }
}
