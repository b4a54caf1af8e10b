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
import type { ServerResponse } from 'node:http';

export type RouteHandler = (request: FastifyRequest, reply: FastifyReply) => unknown;

export interface RequestScope {
  instance: object;
  release: () => Promise<void>;
}

export type PerRequest = (request: FastifyRequest) => Promise<RequestScope>;

export type Method = (this: object, request: FastifyRequest, reply: FastifyReply) => unknown;

export function singletonHandler(instance: object, method: Method): RouteHandler {
  return method.bind(instance);
}

export function perRequestHandler(perRequest: PerRequest, method: Method, scopes: LiveScopes): RouteHandler {
  return async function scoped(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const lifetime = new ScopeLifetime(scopes, reply.raw);
    let scope: RequestScope;
    try {
      scope = await perRequest(request);
    } catch (error) {
      lifetime.settle();
      throw error;
    }
    lifetime.release = scope.release;
    try {
      const result = method.call(scope.instance, request, reply);
      // A synchronous handler that answers through reply.send() later: wait for that response
      // (fastify's own rule for async handlers: `return reply`).
      if (result === undefined) return reply;
      return isThenable(result) ? await result : result;
    } finally {
      lifetime.settle();
    }
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

/** Counts request scopes not yet released, so that shutdown can wait for them. */
export class LiveScopes {
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
    this.logger.error({ err: error }, 'releasing a request scope failed');
  }

  /** Resolves once every scope created so far (and any created meanwhile) has been released. */
  whenIdle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    this.idlePromise ??= new Promise<void>((resolve) => (this.idle = resolve));
    return this.idlePromise;
  }
}

/** One request's scope: released once both the handler and the response are done. */
class ScopeLifetime {
  release: (() => Promise<void>) | undefined;
  private waiting = 2;

  constructor(private readonly scopes: LiveScopes, response: ServerResponse) {
    scopes.enter();
    if (response.destroyed) this.waiting--;
    else response.once('close', () => this.settle());
  }

  settle(): void {
    if (--this.waiting > 0) return;
    const release = this.release;
    if (release === undefined) {
      this.scopes.leave();
      return;
    }
    const scopes = this.scopes;
    void Promise.resolve()
      .then(release)
      .catch((error: unknown) => scopes.releaseFailed(error))
      .finally(() => scopes.leave());
  }
}
