/**
 * Route handlers still running, counted per route, so that the HTTP step of shutdown never ends while a
 * handler could still use a dependency that the destroy phase would tear down (issue 10, item 1): a client
 * that went away, or a drain budget shorter than the handler, no longer lets `Db` be destroyed under it.
 *
 * How: an `onRoute` hook on the root instance, added before the user's `setup` runs, wraps the handler of
 * every route registered afterwards (controller routes and the user's own, in any encapsulation context,
 * since child contexts inherit the root's onRoute hooks). No request hook is added.
 * Cost per request: one extra call, an increment and a decrement; for a handler that returns a promise, one
 * `.then` on it (fastify attaches its own anyway). Nothing else, whether shutdown is near or not.
 *
 * A handler counts as running until it returns, or until the promise it returned settles. A handler that
 * returns undefined without having answered (callback style: `reply.send()` later) counts until its
 * response closes. WebSocket routes are left alone: websockets.ts drains them.
 */
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

type Handler = (this: unknown, request: FastifyRequest, reply: FastifyReply) => unknown;

export class InFlight {
  private readonly routes: RouteCounter[] = [];
  private idle: (() => void) | undefined;
  private idlePromise: Promise<void> | undefined;

  /** Handlers running now, over every route. */
  get size(): number {
    let total = 0;
    for (const route of this.routes) total += route.running;
    return total;
  }

  /** The routes with handlers still running, e.g. 'GET /users/:id: 2, POST /users: 1'. */
  describe(): string {
    return this.routes
      .filter((route) => route.running > 0)
      .map((route) => `${route.label}: ${route.running}`)
      .join(', ');
  }

  /** Resolves once no handler runs (at once if none does). */
  whenIdle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    this.idlePromise ??= new Promise<void>((resolve) => (this.idle = resolve));
    return this.idlePromise;
  }

  /** The onRoute hook that wraps each route's handler. */
  readonly onRoute = (route: RouteOptions): void => {
    const options = route as RouteOptions & { websocket?: boolean; wsHandler?: unknown };
    if (options.websocket === true || options.wsHandler !== undefined) return;
    const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
    const counter = new RouteCounter(`${methods} ${route.url}`, this);
    this.routes.push(counter);
    route.handler = tracked(route.handler as Handler, counter);
  };

  /** Called by a counter that dropped to 0 while someone waits. */
  check(): void {
    if (this.idle === undefined || this.size > 0) return;
    const resolve = this.idle;
    this.idle = undefined;
    this.idlePromise = undefined;
    resolve();
  }

  /** True while whenIdle() has a waiter: the hot path only looks at this when a counter drops to 0. */
  get waiting(): boolean {
    return this.idle !== undefined;
  }
}

class RouteCounter {
  running = 0;

  constructor(
    readonly label: string,
    private readonly owner: InFlight,
  ) {}

  /** An arrow function: passed as-is to `.then()` and `once('close')`, no closure per request. */
  readonly leave = (): void => {
    if (--this.running === 0 && this.owner.waiting) this.owner.check();
  };
}

function tracked(handler: Handler, counter: RouteCounter): Handler {
  const leave = counter.leave;
  return function trackedHandler(this: unknown, request: FastifyRequest, reply: FastifyReply): unknown {
    counter.running++;
    let result: unknown;
    try {
      result = handler.call(this, request, reply);
    } catch (error) {
      leave();
      throw error;
    }
    if (result !== undefined && result !== null && typeof (result as PromiseLike<unknown>).then === 'function') {
      // The derived promise never rejects (leave handles both outcomes); fastify handles `result` itself.
      void (result as PromiseLike<unknown>).then(leave, leave);
    } else if (result === undefined && !reply.sent) {
      reply.raw.once('close', leave); // callback style: running until its response is done
    } else {
      leave();
    }
    return result;
  };
}
