/**
 * The HTTP server: a fastify instance sharing quiesce's pino logger, the user's setup, the controllers'
 * routes, the health endpoints, and the HTTP step of the stop phase (drain.ts does the socket-level part
 * fastify lacks).
 *
 * Start (start(ctx)):
 *  1. setup(fastify, app), awaited, then every plugin it registered is loaded;
 *  2. the controllers' routes, in the root context (see "Encapsulation" below);
 *  3. listen (and the health listener with `healthPort`).
 *
 * Stop (stop(ctx)), every budget derived from ctx.deadline, the one shutdown deadline:
 *  1. every response from now on carries `Connection: close` (readiness is already 503: the caller flips it);
 *  2. for `drainDelay` ms, keep serving, so that load balancers notice and pooled connections retire;
 *  3. the listener closes (fastify.close()): idle sockets close; in-flight requests finish, and requests that
 *     still arrive on connections accepted before the close are served, all with `Connection: close`;
 *     WebSockets get a close frame 1001 and closingSignal(request) aborts, so that long-lived responses end;
 *  4. past the drain budget (`drainTimeout`, default half the time left), every remaining socket is destroyed;
 *  5. until the shutdown deadline, wait for route handlers still running (in-flight.ts): nothing they can
 *     reach is stopped or destroyed under them. The step rejects with DrainTimeoutError saying what was cut.
 * Nothing of quiesce's waiting runs inside fastify's onClose/preClose hooks: every wait here is bounded.
 *
 * Encapsulation: setup receives the root instance. Controllers' routes are registered in that root context
 * after setup (and the plugins it registered) has loaded, so that everything setup registers at the root —
 * hooks, decorators, error and not-found handlers, and plugins wrapped with fastify-plugin (cors, helmet,
 * websocket, ...) — applies to them. A plugin registered without fastify-plugin keeps its hooks to itself,
 * as fastify intends: use it for routes of its own. Root hooks reach every context, the health routes'
 * too (fastify adds a hook to existing children): an auth hook must let the probes through, or the probes
 * move to `healthPort`, a listener that setup never touches.
 */
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import { InitFailedError, InvalidProviderError } from '../errors.js';
import { startTimer } from '../lifecycle/deadline.js';
import { kClosingSignal } from '../symbols.js';
import type { App, DestroyContext as HookContext } from '../types.js';
import { getControllerMetadata, type RouteDefinition } from './controllers.js';
import { ConnectionDrain, DrainTimeoutError, type DrainCut } from './drain.js';
import { addHealthRoutes, HealthListener, type HealthPaths } from './health.js';
import { InFlight } from './in-flight.js';
import { perRequestHandler, ScopedRequests, singletonHandler, type Method, type RouteHandler, type ScopedInstance } from './route-handlers.js';
import { WebSockets } from './websockets.js';
import { validateHttpOptions } from '../options/index.js';

export interface HttpModuleOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Passed to fastify(). `logger`/`loggerInstance` here replace quiesce's shared logger for fastify. */
  fastify?: FastifyServerOptions;
  /**
   * Runs once per start, after every @onInit and before any controller route is added and before listening:
   * register plugins, hooks, decorators, error and not-found handlers, extra routes. `app.get`/`app.getAsync`
   * give singletons. A throw or rejection fails startup (QUIESCE_INIT_FAILED naming the HTTP setup).
   */
  setup?: (fastify: FastifyInstance, app: App) => void | Promise<void>;
  /** ms to keep serving (every response with `Connection: close`) after readiness turns 503. Default 0. */
  drainDelay?: number;
  /** ms for connections to drain after drainDelay. Default: half the time left to the shutdown deadline. */
  drainTimeout?: number;
  /** Default '/readyz'. */
  readinessPath?: string;
  /** Default '/healthz'. */
  livenessPath?: string;
  /**
   * The health endpoints on their own listener (same host), open until shutdown has finished; they are then
   * not served on the main port. 0 picks a free port.
   */
  healthPort?: number;
  /** Default true; false: routes are only reachable through fastify.inject() (no health listener either). */
  listen?: boolean;
}

export interface ControllerSource {
  /** The @Controller class (for its routes). */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  controller: Function;
  /** Singleton controller: its routes cost nothing beyond fastify and the in-flight count per request. */
  instance?: object;
  /**
   * Per-request controller (request scope): a fresh instance and its release(). release is called exactly
   * once, after the handler has settled and the response is done (finished, errored, or the client went away).
   * If perRequest rejects, it must clean up what it created itself; the request then fails with that error.
   */
  perRequest?: (request: FastifyRequest) => ScopedInstance | Promise<ScopedInstance>;
}

export interface HttpServerSettings {
  options: HttpModuleOptions;
  logger: Logger;
  /** Readiness: true only while the app is ready. */
  isReady: () => boolean;
  /** What setup(fastify, app) receives. */
  app: App;
}

type Route = RouteDefinition & { handler: RouteHandler };

export class HttpServer {
  readonly fastify: FastifyInstance;
  private readonly options: HttpModuleOptions;
  private readonly logger: Logger;
  private readonly app: App;
  private readonly connections: ConnectionDrain | undefined;
  private readonly scopes: ScopedRequests;
  private readonly inFlight = new InFlight();
  private readonly websockets = new WebSockets();
  private readonly closing = new AbortController();
  private readonly health: HealthListener | undefined;
  private readonly routes: Route[] = [];
  private readonly listen: boolean;
  private address: string | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(settings: HttpServerSettings) {
    const { options, logger, isReady } = settings;
    // the one rule set bootstrap applies too; here for servers made without bootstrap (no shutdown deadline known)
    validateHttpOptions(options, { shutdownTimeout: Infinity });
    this.options = options;
    this.logger = logger;
    this.app = settings.app;
    this.listen = options.listen !== false;
    this.fastify = Fastify(fastifyOptions(options.fastify, logger));
    this.scopes = new ScopedRequests(this.fastify.log);
    // HTTP/2 drains with GOAWAY (fastify's closeHttp2Sessions); the Connection header is HTTP/1 only.
    const http2 = (options.fastify as { http2?: boolean } | undefined)?.http2 === true;
    this.connections = http2 ? undefined : new ConnectionDrain(this.fastify.server);
    Reflect.defineProperty(this.fastify, kClosingSignal, { value: this.closing.signal });

    const paths: HealthPaths = { readiness: options.readinessPath ?? '/readyz', liveness: options.livenessPath ?? '/healthz' };
    if (options.healthPort !== undefined && this.listen) this.health = new HealthListener(paths, isReady, logger);
    else addHealthRoutes(this.fastify, paths, isReady); // before the hooks below: probes are not tracked

    const { inFlight, websockets } = this;
    this.fastify.addHook('onRoute', function track(this: FastifyInstance, route) {
      websockets.onRoute(this, route);
      inFlight.onRoute(route);
    });
  }

  /** The listening URL (e.g. http://127.0.0.1:3000) once started, undefined without listening. */
  get url(): string | undefined {
    return this.address;
  }

  /** The health listener's URL with `healthPort`, once started. */
  get healthUrl(): string | undefined {
    return this.health?.url;
  }

  /** Route handlers running now (all routes). */
  get requestsRunning(): number {
    return this.inFlight.size;
  }

  /**
   * What the HTTP step is still waiting for, in words (undefined when nothing): for a scheduler that reports
   * the step at the global deadline itself, before stop() could reject with its own DrainTimeoutError.
   */
  describePending(): string | undefined {
    const parts: string[] = [];
    const requests = this.inFlight.size;
    if (requests > 0) parts.push(`${requests} request${requests === 1 ? '' : 's'} still running (${this.inFlight.describe()})`);
    const websockets = this.websockets.open;
    if (websockets > 0) parts.push(`${websockets} WebSocket${websockets === 1 ? '' : 's'} open`);
    const connections = this.connections?.connections ?? 0;
    if (connections > 0) parts.push(`${connections} connection${connections === 1 ? '' : 's'} open`);
    return parts.length > 0 ? `http drain: ${parts.join(', ')}` : undefined;
  }

  /** Checks the controllers and prepares their routes; start() registers them after setup. Call before start(). */
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
        this.routes.push({ ...route, handler });
      }
    }
  }

  /**
   * setup → controller routes → listen (main listener, then the health listener). Resolves once listening
   * (without listening: once fastify is ready). A failing setup rejects with InitFailedError naming it.
   * Idempotent.
   */
  start(ctx: HookContext): Promise<void> {
    this.starting ??= this.boot(ctx);
    return this.starting;
  }

  /**
   * The HTTP step of the stop phase (see the top of this file). Idempotent. Rejects with DrainTimeoutError
   * (a HookTimeoutError, 'http drain') when connections outlived the drain budget or handlers the deadline.
   */
  stop(ctx: HookContext): Promise<void> {
    this.stopping ??= this.drain(ctx);
    return this.stopping;
  }

  /** Closes the health listener (with `healthPort`); called once shutdown has finished. Idempotent. */
  closeHealth(): Promise<void> {
    return this.health?.close() ?? Promise.resolve();
  }

  private async boot(_ctx: HookContext): Promise<void> {
    const { setup } = this.options;
    if (setup !== undefined) {
      try {
        await setup(this.fastify, this.app);
        // Loads what setup registered without awaiting it, so that its failure is the setup's too.
        await this.fastify.after();
      } catch (error) {
        throw new InitFailedError('the HTTP setup (HttpModule.forRoot({ setup }))', error);
      }
    }
    for (const route of this.routes) {
      this.fastify.route({ ...route.options, method: route.method, url: route.path, handler: route.handler });
    }
    this.websockets.add(this.fastify);
    if (!this.listen) {
      await this.fastify.ready();
      return;
    }
    this.address = await this.fastify.listen({ port: this.options.port ?? 3000, host: this.host });
    if (this.health) await this.health.listen(this.options.healthPort!, this.host);
  }

  private get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  private async drain(ctx: HookContext): Promise<void> {
    const log = this.logger;
    const startedAt = Date.now();
    const drainDelay = this.options.drainDelay ?? 0;
    this.connections?.begin();
    log.info(
      { drainDelay, connections: this.connections?.connections, requests: this.inFlight.size, requestScopes: this.scopes.size },
      'http: draining',
    );

    const delay = Math.min(drainDelay, ctx.deadline - Date.now());
    if (delay > 0) await settledWithin(new Promise<void>(() => {}), delay, ctx.signal);

    // The listener closes (in a turn that found the kernel's accept queue empty): from here on, one drain budget.
    const listener = await this.connections?.closeListener(!ctx.signal.aborted);
    if (listener) log.info({ ...listener, connections: this.connections?.connections }, 'http: listener closed');
    const left = Math.max(0, ctx.deadline - Date.now());
    const budget = ctx.signal.aborted ? 0 : Math.min(this.options.drainTimeout ?? Math.floor(left / 2), left);
    const websockets = this.websockets.goingAway();
    this.closing.abort(ctx.reason);
    if (websockets > 0) log.info({ websockets }, 'http: close frame 1001 sent to every WebSocket');
    const closed = Promise.allSettled([this.fastify.close(), this.scopes.whenIdle(), this.websockets.whenClosed()]);

    const cut: DrainCut = { connections: 0, websockets: 0, requestScopes: 0, requests: 0, routes: '' };
    const drained = await settledWithin(closed, budget, ctx.signal);
    if (!drained) {
      // fastify.close() finishes on its own once the sockets are gone.
      cut.websockets = this.websockets.open;
      cut.connections = this.connections?.forceClose() ?? 0;
      cut.requestScopes = this.scopes.size;
      log.warn(
        { budget, destroyedConnections: cut.connections, websockets: cut.websockets, requestScopes: this.scopes.size },
        'http: drain deadline reached, remaining connections destroyed',
      );
    }

    // No handler may outlive what it uses: wait for the ones still running until the shutdown deadline.
    if (this.inFlight.size > 0) {
      log.info({ requests: this.inFlight.size, routes: this.inFlight.describe() }, 'http: waiting for running handlers');
      if (!(await settledWithin(this.inFlight.whenIdle(), ctx.deadline - Date.now(), ctx.signal))) {
        cut.requests = this.inFlight.size;
        cut.routes = this.inFlight.describe();
        log.warn({ requests: cut.requests, routes: cut.routes }, 'http: handlers still running at the shutdown deadline');
        throw new DrainTimeoutError(Math.max(0, ctx.deadline - startedAt), cut);
      }
    }
    if (!drained) throw new DrainTimeoutError(budget, cut);
    const [fastifyClosed] = await closed;
    if (fastifyClosed.status === 'rejected') throw fastifyClosed.reason; // an onClose hook that failed
    log.info({ durationMs: Date.now() - startedAt }, 'http: closed');
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

/**
 * True if `promise` settles within `ms` and before `signal` aborts (a rejection counts as settled).
 * The timer is deadline.ts's startTimer: a budget too long for a timer (or Infinity) means no timer.
 */
function settledWithin(promise: Promise<unknown>, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const finish = (inTime: boolean): void => {
      cancelTimer();
      signal.removeEventListener('abort', onAbort);
      resolve(inTime);
    };
    const onAbort = (): void => finish(false);
    const cancelTimer = startTimer(Math.max(0, ms), () => finish(false));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => finish(true),
      () => finish(true),
    );
  });
}
