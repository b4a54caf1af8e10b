/**
 * The HTTP server: a fastify instance sharing quiesce's pino logger, the health endpoints, controller
 * routes, and the HTTP step of shutdown (drain.ts does the socket-level part fastify lacks).
 *
 * Shutdown (stop):
 *  1. every response from now on carries `Connection: close` (readiness is already 503: the caller flips it);
 *  2. for `drainDelay` ms, keep serving, so that load balancers notice and pooled connections retire;
 *  3. fastify.close(): stop listening, close idle sockets; in-flight requests finish, and requests that still
 *     arrive on connections accepted before the close are served (fastify's return503OnClosing is off), all
 *     with `Connection: close`; meanwhile request scopes still alive are released;
 *  4. past the drain budget, destroy every remaining socket and throw HookTimeoutError.
 * Nothing of quiesce's waiting runs inside fastify's onClose/preClose hooks: every wait here is bounded.
 */
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { HookTimeoutError, InvalidProviderError } from '../errors.js';
import type { DestroyContext } from '../types.js';
import { getControllerMetadata } from './controllers.js';
import { ConnectionDrain } from './drain.js';
import { LiveScopes, perRequestHandler, singletonHandler, type Method, type RequestScope, type RouteHandler } from './route-handlers.js';

export interface HttpModuleOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Passed to fastify(). `logger`/`loggerInstance` here replace quiesce's shared logger for fastify. */
  fastify?: FastifyServerOptions;
  /** ms to keep serving (every response with `Connection: close`) after readiness turns 503. Default 0. */
  drainDelay?: number;
  /** ms for in-flight requests after drainDelay. Default: half the time left to the shutdown deadline. */
  drainTimeout?: number;
  /** Default '/readyz'. */
  readinessPath?: string;
  /** Default '/healthz'. */
  livenessPath?: string;
  /** Default true; false: routes are only reachable through fastify.inject(). */
  listen?: boolean;
}

export interface ControllerSource {
  /** The @Controller class (for its routes). */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  controller: Function;
  /** Singleton controller: its routes cost nothing beyond fastify per request. */
  instance?: object;
  /**
   * Per-request controller (request scope): a fresh instance and its release(). release is called exactly
   * once, after the handler has settled and the response is done (finished, errored, or the client went away).
   * If perRequest rejects, it must clean up what it created itself; the request then fails with that error.
   */
  perRequest?: (request: FastifyRequest) => Promise<RequestScope>;
}

const okBody = Object.freeze({ status: 'ok' });
const unavailableBody = Object.freeze({ status: 'unavailable' });
/** setTimeout's largest delay; longer budgets are "no timer". */
const maxTimer = 2 ** 31 - 1;

export class HttpServer {
  readonly fastify: FastifyInstance;
  private readonly connections: ConnectionDrain | undefined;
  private readonly scopes: LiveScopes;
  private readonly listen: boolean;
  private address: string | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly options: HttpModuleOptions,
    private readonly logger: Logger,
    readiness: () => boolean,
  ) {
    checkOptions(options);
    this.listen = options.listen !== false;
    this.fastify = Fastify(fastifyOptions(options.fastify, logger));
    this.scopes = new LiveScopes(this.fastify.log);
    // HTTP/2 drains with GOAWAY (fastify's closeHttp2Sessions); the Connection header is HTTP/1 only.
    const http2 = (options.fastify as { http2?: boolean } | undefined)?.http2 === true;
    this.connections = http2 ? undefined : new ConnectionDrain(this.fastify.server);

    // Health probes are frequent: keep their access-log lines out of the info level.
    const probe = { logLevel: 'warn' } as const;
    this.fastify.get(options.livenessPath ?? '/healthz', probe, () => okBody);
    this.fastify.get(options.readinessPath ?? '/readyz', probe, (_request, reply) => {
      if (readiness()) return okBody;
      void reply.code(503);
      return unavailableBody;
    });
  }

  /** The listening URL (e.g. http://127.0.0.1:3000) once started, undefined without listening. */
  get url(): string | undefined {
    return this.address;
  }

  /** Registers the routes of each controller. Call before start(). */
  addControllers(sources: readonly ControllerSource[]): void {
    for (const source of sources) {
      const name = source.controller.name || '<anonymous controller>';
      const metadata = getControllerMetadata(source.controller);
      if (!metadata) {
        throw new InvalidProviderError(`${name} is listed under controllers but is not decorated with @Controller().`);
      }
      if ((source.instance === undefined) === (source.perRequest === undefined)) {
        throw new InvalidProviderError(`Controller ${name}: give exactly one of instance and perRequest.`);
      }
      for (const route of metadata.routes) {
        const label = `${name}.${String(route.handlerName)} (${route.method} ${route.path})`;
        let handler: RouteHandler;
        if (source.instance !== undefined) {
          handler = singletonHandler(source.instance, methodOf(source.instance, route.handlerName, label));
        } else {
          const prototype = (source.controller as { prototype: object }).prototype;
          handler = perRequestHandler(source.perRequest!, methodOf(prototype, route.handlerName, label), this.scopes);
        }
        this.fastify.route({ ...route.options, method: route.method, url: route.path, handler });
      }
    }
  }

  /** Boots fastify and, unless `listen: false`, listens. Resolves with the URL (undefined without listening). */
  async start(): Promise<string | undefined> {
    if (!this.listen) {
      await this.fastify.ready();
      return undefined;
    }
    this.address = await this.fastify.listen({ port: this.options.port ?? 3000, host: this.options.host ?? '127.0.0.1' });
    return this.address;
  }

  /**
   * The HTTP step of shutdown (see the top of this file). Idempotent. Rejects with HookTimeoutError
   * ('http drain') when connections or request scopes outlive the drain budget, after destroying the sockets.
   */
  stop(ctx: DestroyContext): Promise<void> {
    this.stopping ??= this.drain(ctx);
    return this.stopping;
  }

  private async drain(ctx: DestroyContext): Promise<void> {
    const log = this.logger;
    const startedAt = Date.now();
    const drainDelay = this.options.drainDelay ?? 0;
    this.connections?.begin();
    log.info({ drainDelay, connections: this.connections?.connections, requestScopes: this.scopes.size }, 'http: draining');

    const delay = Math.min(drainDelay, ctx.deadline - Date.now());
    if (delay > 0) await settledWithin(new Promise<void>(() => {}), delay, ctx.signal);

    const left = Math.max(0, ctx.deadline - Date.now());
    const budget = ctx.signal.aborted ? 0 : Math.min(this.options.drainTimeout ?? Math.floor(left / 2), left);
    this.connections?.listenerClosing();
    const done = Promise.allSettled([this.fastify.close(), this.scopes.whenIdle()]);
    if (!(await settledWithin(done, budget, ctx.signal))) {
      // fastify.close() finishes on its own once the sockets are gone.
      const destroyed = this.connections?.forceClose() ?? 0;
      log.warn(
        { budget, destroyedConnections: destroyed, requestScopes: this.scopes.size },
        'http: drain deadline reached, remaining connections destroyed',
      );
      throw new HookTimeoutError('http drain', budget);
    }
    const [closed] = await done;
    if (closed.status === 'rejected') throw closed.reason; // an onClose hook that failed
    log.info({ durationMs: Date.now() - startedAt }, 'http: closed');
  }
}

function checkOptions(options: HttpModuleOptions): void {
  for (const key of ['port', 'drainDelay', 'drainTimeout'] as const) {
    const value = options[key];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      throw new InvalidProviderError(`HttpModule option ${key} must be a number >= 0, got ${String(value)}.`);
    }
  }
}

function fastifyOptions(given: FastifyServerOptions | undefined, logger: Logger): FastifyServerOptions {
  const options: FastifyServerOptions = { ...given };
  // A request that arrives on a connection accepted before the listener closed is served (with
  // `Connection: close`, fastify sets it while closing), not refused with fastify's 503: a proxy does not
  // retry a POST that got a 503 (CONTRACT §5, §12). An explicit `return503OnClosing` is kept.
  if (!Object.hasOwn(options, 'return503OnClosing')) options.return503OnClosing = false;
  if (options.logger === undefined && options.loggerInstance === undefined && logger.level !== 'silent') {
    // One pino logger for quiesce and fastify. A silent logger is not passed at all: fastify's own no-op
    // logger then skips creating a child logger per request.
    options.loggerInstance = logger;
  }
  return options;
}

function methodOf(target: object, key: string | symbol, label: string): Method {
  const method = (target as Record<string | symbol, unknown>)[key];
  if (typeof method !== 'function') throw new InvalidProviderError(`${label}: the route handler is not a function.`);
  return method as Method;
}

/** True if `promise` settles within `ms` and before `signal` aborts (a rejection counts as settled). */
function settledWithin(promise: Promise<unknown>, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const finish = (inTime: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(inTime);
    };
    const onAbort = (): void => finish(false);
    const timer = ms < maxTimer ? setTimeout(finish, Math.max(0, ms), false) : undefined;
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => finish(true),
      () => finish(true),
    );
  });
}
