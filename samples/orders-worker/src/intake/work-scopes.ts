import type { App, WorkScope } from 'quiesce';

/**
 * `app.createScope()` for the consumers, which need it before `bootstrap` has handed the App to
 * anyone: they subscribe in `@onStart`, and a message may arrive before `bootstrap` resolves.
 * main.ts attaches the App the moment it has it; a message that came earlier waits for that
 * (microseconds). If startup fails instead, the consumers' `@onStop` (run by the rollback) calls
 * `abandon()`, so those messages are released unacked rather than waited for.
 */
export class WorkScopes {
  #app: App | undefined;
  #settle: { resolve(app: App): void; reject(error: Error): void } | undefined;
  readonly #ready: Promise<App>;

  constructor() {
    this.#ready = new Promise<App>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    this.#ready.catch(() => undefined); // only awaited by messages that arrive during startup
  }

  attach(app: App): void {
    this.#app = app;
    this.#settle?.resolve(app);
  }

  /** Startup failed: no App will come. Idempotent; a no-op once attached. */
  abandon(reason: string): void {
    if (this.#app === undefined) this.#settle?.reject(new Error(`no work scope: the worker did not start (${reason})`));
  }

  /** A new scope for one unit of work: `await using scope = await scopes.open()`. */
  async open(): Promise<WorkScope> {
    const app = this.#app ?? (await this.#ready);
    return app.createScope();
  }
}
