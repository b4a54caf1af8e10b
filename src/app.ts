/**
 * The App: a small state machine (starting -> ready -> stopping -> stopped) over the container,
 * the HTTP server and the lifecycle schedulers. Startup failure rolls back through the same
 * destroy path as shutdown; close() is idempotent.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Container } from './container/container.js';
import type { WorkScope } from './container/scopes.js';
import { createDependencyGraph } from './container/graph-view.js';
import { describeModule } from './container/modules.js';
import { InitFailedError, StartupAbortedError, StartupTimeoutError, StoppingError, type QuiesceError } from './errors.js';
import type { HttpServer } from './http/server.js';
import { runShutdown } from './lifecycle/shutdown.js';
import { runStartup, StartupFailure } from './lifecycle/startup.js';
import type { ShutdownTask } from './lifecycle/tasks.js';
import { tokenName, type Token } from './tokens.js';
import type { App, AppState, DependencyGraph, GraphEdge, GraphNode, ShutdownReport } from './types.js';

export interface AppSettings {
  shutdownTimeout: number;
  startupTimeout: number;
  disposeConcurrency: 'graph' | 'sequential';
  logger: Logger;
}

type InternalState = 'starting' | AppState;

export const HTTP_STEP_ID = 'http';

export class QuiesceApp implements App {
  private current: InternalState = 'starting';
  private closing?: Promise<ShutdownReport>;
  private readonly startupAbort = new AbortController();
  private settleStartup: () => void = () => {};
  /** When startup was aborted: the shutdown deadline runs from then, rollback included. */
  private abortedAt?: number;
  private readonly startupSettled = new Promise<void>((resolve) => (this.settleStartup = resolve));
  private server?: HttpServer;
  /** Called once the app is stopped (e.g. to remove process handlers). */
  onStopped?: () => void;

  constructor(
    private readonly container: Container,
    private readonly settings: AppSettings,
    private readonly createServer?: () => HttpServer,
  ) {}

  get state(): AppState {
    return this.current === 'starting' ? 'stopping' : this.current;
  }

  /** Readiness: true only between the end of startup and the start of shutdown. */
  readonly isReady = (): boolean => this.current === 'ready';

  get url(): string | undefined {
    return this.server?.url;
  }

  get http(): FastifyInstance | undefined {
    return this.server?.fastify;
  }

  get<T>(token: Token<T>): T {
    // 'starting': HttpModule's setup(fastify, app) runs then, after every init hook
    if (this.current !== 'ready' && this.current !== 'starting') throw new StoppingError(tokenName(token), this.current);
    return this.container.get(token);
  }

  getAsync<T>(token: Token<T>): Promise<T> {
    if (this.current !== 'ready' && this.current !== 'starting') return Promise.reject(new StoppingError(tokenName(token), this.current));
    return this.container.getAsync(token);
  }

  /** A unit-of-work scope (CONTRACT §11); shutdown waits for it to be closed. */
  createScope(): WorkScope {
    if (this.current !== 'ready') throw new StoppingError('a scope (app.createScope())', this.current);
    return this.container.openScope();
  }

  graph(): DependencyGraph {
    const nodes: GraphNode[] = this.container.graph.nodes.map((node) => ({
      id: node.id,
      name: node.name,
      scope: node.scope,
      disposable: this.container.isDisposable(node),
    }));
    const edges: GraphEdge[] = this.container.graph.nodes.flatMap((node) => node.deps.map((dep) => ({ from: node.id, to: dep.id })));
    if (this.createServer) {
      nodes.push({ id: HTTP_STEP_ID, name: 'http', scope: 'singleton', disposable: true });
      for (const controller of this.container.graph.controllers) edges.push({ from: HTTP_STEP_ID, to: controller.id });
    }
    return createDependencyGraph(nodes, edges);
  }

  close(reason = 'close'): Promise<ShutdownReport> {
    if (this.current === 'starting') return this.abortStartup(reason);
    this.closing ??= this.destroy(reason);
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close('asyncDispose').then(() => undefined);
  }

  /** Creates every singleton and runs init hooks, then starts the HTTP server; rolls back on failure. */
  async start(): Promise<void> {
    const startedAt = Date.now();
    this.container.initDeadline = startedAt + this.settings.startupTimeout;
    const tasks = this.container.startupTasks();
    if (this.createServer) {
      // the server listens last, once every init hook is done: readiness never lies
      tasks.push({ id: HTTP_STEP_ID, name: 'http', after: tasks.map((task) => task.id), run: (signal) => this.startServer(signal) });
    }
    try {
      await runStartup(tasks, {
        timeoutMs: this.settings.startupTimeout,
        signal: this.startupAbort.signal,
        // a signal's shutdown deadline runs from the signal: leave rollback half of it
        abortGraceMs: this.settings.shutdownTimeout / 2,
      });
    } catch (error) {
      const failure = this.startupError(error);
      this.settings.logger.error({ err: failure.cause ?? failure, code: failure.code }, failure.message);
      this.closing ??= this.destroy('startup-rollback');
      await this.closing;
      this.settleStartup();
      throw failure;
    }
    this.current = 'ready';
    this.container.initDeadline = Infinity;
    this.settleStartup();
    this.settings.logger.info(
      { url: this.url, providers: this.container.graph.nodes.length, durationMs: Date.now() - startedAt },
      this.url ? `ready, listening on ${this.url}` : 'ready',
    );
  }

  private async startServer(signal: AbortSignal): Promise<void> {
    const server = this.createServer!();
    this.server = server; // a start that fails half-way is still stopped by the rollback
    await server.start({ signal, deadline: this.container.initDeadline, reason: 'startup' });
  }

  private abortStartup(reason: string): Promise<ShutdownReport> {
    if (!this.startupAbort.signal.aborted) {
      this.abortedAt = Date.now();
      this.startupAbort.abort(reason);
    }
    // start() rolls back as soon as the scheduler notices the abort; if startup had already won the race, close now
    return this.startupSettled.then(() => this.close(reason));
  }

  private startupError(error: unknown): QuiesceError & { cause?: unknown } {
    if (!(error instanceof StartupFailure)) return new InitFailedError('startup', error);
    const node = error.taskId ? this.container.graph.nodes.find((n) => n.id === error.taskId) : undefined;
    const where = node ? `${node.name} in ${describeModule(node.def.module)}` : (error.taskName ?? 'startup');
    if (error.kind === 'timeout') return new StartupTimeoutError(where, this.settings.startupTimeout, error.cause);
    if (error.kind === 'aborted') return new StartupAbortedError(String(error.cause));
    return new InitFailedError(where, error.cause);
  }

  private async destroy(reason: string): Promise<ShutdownReport> {
    this.current = 'stopping';
    this.container.closeAppOwner();
    const { logger, shutdownTimeout, disposeConcurrency } = this.settings;
    const tasks: ShutdownTask[] = [];
    const server = this.server;
    if (server) {
      tasks.push({ id: HTTP_STEP_ID, name: 'http', kind: 'http', after: [], parts: [{ label: 'http drain', run: (ctx) => server.stop(ctx) }] });
    }
    tasks.push(...this.container.destroyPlan(tasks.length > 0 ? [HTTP_STEP_ID] : []));
    const timeoutMs = this.abortedAt === undefined ? shutdownTimeout : Math.max(1, shutdownTimeout - (Date.now() - this.abortedAt));
    const report = await runShutdown(tasks, { reason, timeoutMs, concurrency: disposeConcurrency, logger });
    await server?.closeHealth(); // the health listener stays open until shutdown has finished
    this.current = 'stopped';
    this.onStopped?.();
    return report;
  }
}
