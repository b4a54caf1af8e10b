import { inject, injectable, onStop, type App, type HookContext, type WorkScope } from 'quiesce';
import { CONFIG, type Config } from '../config.js';
import { OrderHandler } from '../orders/order-handler.js';

/**
 * The consumers' scopes: `await using scope = await this.scopes.open()` is one `app.createScope()`
 * per message. Two things stand between a consumer and calling `app.createScope()` itself:
 *
 * 1. The App does not exist yet when the consumers subscribe (`@onStart` runs inside `bootstrap`), so
 *    main.ts `attach`es it the moment `bootstrap` resolves; a message that came earlier waits for that.
 *    If startup fails instead, the consumers' `@onStop` (run by the rollback) calls `abandon()`.
 * 2. `app.createScope()` throws QUIESCE_STOPPING from the first signal on (CONTRACT §11), yet messages
 *    keep arriving for a moment after it: those RabbitMQ sent before it processed our cancel, and the
 *    answer to the JetStream pull outstanding at SIGTERM. Refusing them would requeue them — a
 *    redelivery caused by the graceful shutdown, the very thing to avoid. So scopes are opened one
 *    message ahead: a reserve of `capacity` open scopes (RabbitMQ prefetch + JetStream pull size, the
 *    most the brokers can still send), topped up on every `open()` while the app is ready. The AMQP
 *    consumer holds its acks while the app stops and its cancel is not confirmed, so RabbitMQ cannot
 *    refill freed prefetch slots beyond that bound.
 *
 * Each reserve scope has its `OrderHandler` (and the `UnitOfWork` under it) resolved when it opens, so
 * that a message taken from the reserve during shutdown does no resolution work of its own. The
 * UnitOfWork takes its pg client only when the message's transaction starts.
 *
 * Its `@onStop` closes the unused reserve; the consumers depend on this class, so quiesce runs it only
 * after both consumers' stop steps have finished — the graph, not a hand-written order.
 */
@injectable()
export class WorkScopes {
  readonly capacity: number;
  #app: App | undefined;
  #reserve: WorkScope[] = [];
  #settle: { resolve(app: App): void; reject(error: Error): void } | undefined;
  readonly #ready: Promise<App>;

  constructor(@inject(CONFIG) config: Config) {
    this.capacity = (config.amqpUrl === undefined ? 0 : config.amqpPrefetch) + (config.natsUrl === undefined ? 0 : config.natsBatch);
    this.#ready = new Promise<App>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    this.#ready.catch(() => undefined); // only awaited by messages that arrive during startup
  }

  /** main.ts, right after `bootstrap` resolved. */
  attach(app: App): void {
    this.#app = app;
    this.#topUp();
    this.#settle?.resolve(app);
  }

  /** True while the app is ready: new work is welcome. */
  get accepting(): boolean {
    return this.#app?.state === 'ready';
  }

  /** True once the app has started to shut down (false during startup). */
  get stopping(): boolean {
    return this.#app !== undefined && this.#app.state !== 'ready';
  }

  /** Startup failed: no App will come. Idempotent; a no-op once attached. */
  abandon(reason: string): void {
    if (this.#app === undefined) this.#settle?.reject(new Error(`no work scope: the worker did not start (${reason})`));
  }

  /** A scope of its own for one message. Rejects only when the reserve is spent during shutdown. */
  async open(): Promise<WorkScope> {
    const app = this.#app ?? (await this.#ready);
    const scope = this.#reserve.pop() ?? app.createScope();
    this.#topUp();
    return scope;
  }

  @onStop()
  async release(_ctx: HookContext): Promise<void> {
    const unused = this.#reserve;
    this.#reserve = [];
    await Promise.all(unused.map((scope) => scope.close()));
  }

  #topUp(): void {
    while (this.#reserve.length < this.capacity && this.accepting) {
      const scope = this.#app!.createScope();
      scope.get(OrderHandler); // resolved ahead (see above)
      this.#reserve.push(scope);
    }
  }
}
