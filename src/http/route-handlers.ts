/**
 * The fastify handlers that call controller methods.
 *
 * A singleton controller's route is its method bound to the instance: fastify calls it directly, with
 * nothing added per request. A per-request controller's route gets a scope from `perRequest(request)`,
 * calls the method on that scope's instance, and releases the scope exactly once, when both the method
 * has settled and the response is done (finished, errored or the client went away): a scope is never
 * torn down under a handler that is still running.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { loggable } from '../errors.js';
import type { ServerResponse } from 'node:http';

export type RouteHandler = (request: FastifyRequest, reply: FastifyReply) => unknown;

/** A per-request controller instance and the release of the scope it lives in. */
export interface ScopedInstance {
  instance: object;
  release: () => Promise<unknown>;
}

/** Opens a request's scope and resolves its controller: synchronously when nothing on the way is async. */
export type PerRequest = (request: FastifyRequest) => ScopedInstance | Promise<ScopedInstance>;

export type Method = (this: object, request: FastifyRequest, reply: FastifyReply) => unknown;

export function singletonHandler(instance: object, method: Method): RouteHandler {
  return method.bind(instance);
}

/**
 * A route of a per-request controller. When the scope is created synchronously (the usual case) the
 * handler is synchronous too and returns what the method returns, so fastify treats it exactly as it
 * treats a singleton controller's route; only an asynchronous creation makes it return a promise.
 */
export function perRequestHandler(perRequest: PerRequest, method: Method, requests: ScopedRequests): RouteHandler {
  return function scoped(request: FastifyRequest, reply: FastifyReply): unknown {
    const latch = new ReleaseLatch(requests, reply.raw);
    let created: ScopedInstance | Promise<ScopedInstance>;
    try {
      created = perRequest(request);
    } catch (error) {
      latch.settle();
      throw error;
    }
    if (!(created instanceof Promise)) return callMethod(created, method, request, reply, latch);
    return created.then(
      (scope) => {
        const result = callMethod(scope, method, request, reply, latch);
        // A synchronous method that answers through reply.send() later: wait for that response
        // (fastify's own rule for async handlers: `return reply`).
        return result === undefined ? reply : result;
      },
      (error: unknown) => {
        latch.settle();
        throw error;
      },
    );
  };
}

/** Calls the method on the scope's instance; the latch learns when it has settled. */
function callMethod(scope: ScopedInstance, method: Method, request: FastifyRequest, reply: FastifyReply, latch: ReleaseLatch): unknown {
  latch.release = scope.release;
  let result: unknown;
  try {
    result = method.call(scope.instance, request, reply);
  } catch (error) {
    latch.settle();
    throw error;
  }
  if (isThenable(result)) {
    const settle = (): void => latch.settle();
    result.then(settle, settle); // fastify handles the result itself; this only observes it
  } else {
    latch.settle();
  }
  return result;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** Counts requests whose scope is not yet released, so that the HTTP drain can wait for them. */
export class ScopedRequests {
  private count = 0;
  private idle: (() => void) | undefined;
  private idlePromise: Promise<void> | undefined;

  constructor(private readonly logger: FastifyBaseLogger) {}

  get size(): number {
    return this.count;
  }

  enter(): void {
    this.count++;
  }

  leave(): void {
    if (--this.count === 0 && this.idle) {
      this.idle();
      this.idle = undefined;
      this.idlePromise = undefined;
    }
  }

  releaseFailed(error: unknown): void {
    this.logger.error({ err: loggable(error) }, 'releasing a request scope failed');
  }

  /** Resolves once every scope created so far (and any created meanwhile) has been released. */
  whenIdle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    this.idlePromise ??= new Promise<void>((resolve) => (this.idle = resolve));
    return this.idlePromise;
  }
}

/** One request's scope: released once both the handler and the response are done. */
class ReleaseLatch {
  release: (() => Promise<unknown>) | undefined;
  private waiting = 2;

  constructor(
    private readonly requests: ScopedRequests,
    response: ServerResponse,
  ) {
    requests.enter();
    if (response.destroyed) this.waiting--;
    else response.once('close', () => this.settle());
  }

  settle(): void {
    if (--this.waiting > 0) return;
    const { release, requests } = this;
    if (release === undefined) {
      requests.leave();
      return;
    }
    let released: Promise<unknown>;
    try {
      released = release();
    } catch (error) {
      requests.releaseFailed(error);
      requests.leave();
      return;
    }
    released.then(
      () => requests.leave(),
      (error: unknown) => {
        requests.releaseFailed(error);
        requests.leave();
      },
    );
  }
}
