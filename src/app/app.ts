/**
 * The App: a small state machine (starting -> ready -> stopping -> stopped) over the container and the
 * phases (phases.ts says what each phase does). Startup failure rolls back through the same shutdown;
 * close() is idempotent and never rejects. The App does not know what HTTP is: the HTTP server is one
 * of the participants, and the App only shows its url and fastify instance.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Container } from '../container/container.js';
import { createDependencyGraph } from '../container/graph-view.js';
import { describeModule } from '../container/modules.js';
import { describe, InitFailedError, loggable, type QuiesceError, StartupAbortedError, StartupTimeoutError, StoppingError } from '../errors.js';
import { Deadline } from '../lifecycle/deadline.js';
import { StartupFailure } from '../lifecycle/startup.js';
import { tokenName, type Token } from '../tokens.js';
import type { WorkScope } from '../container/scopes.js';
import type { App, AppState, DependencyGraph, GraphEdge, GraphNode, ShutdownReport } from '../types.js';
import type { Phases } from './phases.js';

export interface AppSettings {
  shutdownTimeout: number;
  startupTimeout: number;
  disposeConcurrency: 'graph' | 'sequential';
  logger: Logger;
}

/** What the App shows of the HTTP participant, when there is one. */
export interface HttpView {
  readonly url: string | undefined;
  readonly fastify: FastifyInstance | undefined;
}

type InternalState = 'starting' | AppState;

export class QuiesceApp implements App {
  private current: InternalState = 'starting';
  private closing?: Promise<ShutdownReport>;
  private readonly startupAbort = new AbortController();
  /** Set when startup was aborted: the shutdown deadline runs from the abort, rollback included. */
  private abortDeadline?: Deadline;
  /** Passed from shutdown() to close(). */
  private givenDeadline?: Deadline;
  private settleStartup: () => void = () => {};
  private readonly startupSettled = new Promise<void>((resolve) => (this.settleStartup = resolve));
  private markStopped: () => void = () => {};
  /** Resolves (never rejects) once the app is stopped, e.g. to remove process handlers. */
  readonly stopped = new Promise<void>((resolve) => (this.markStopped = resolve));

  constructor(
    private readonly container: Container,
    private readonly phases: Phases,
    private readonly settings: AppSettings,
    private readonly httpView?: HttpView,
  ) {}

  get state(): AppState {
    return this.current === 'starting' ? 'stopping' : this.current;
  }

  /** Readiness: true only between the end of startup and the start of shutdown. */
  readonly isReady = (): boolean => this.current === 'ready';

  get url(): string | undefined {
    return this.httpView?.url;
  }

  get http(): FastifyInstance | undefined {
    return this.httpView?.fastify;
  }

  get<T>(token: Token<T>): T {
    // 'starting': participants start then (HttpModule's setup(fastify, app)), after every init hook
    if (this.current !== 'ready' && this.current !== 'starting') throw new StoppingError(tokenName(token), this.current);
    return this.container.get(token);
  }

  getAsync<T>(token: Token<T>): Promise<T> {
    if (this.current !== 'ready' && this.current !== 'starting') return Promise.reject(new StoppingError(tokenName(token), this.current));
    return this.container.getAsync(token);
  }

  /** A unit-of-work scope (CONTRACT §11); the stop phase waits for it to be closed. */
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
    for (const participant of this.phases.participants) {
      nodes.push({ id: participant.id, name: participant.name, scope: 'singleton', disposable: true });
      for (const used of participant.uses) edges.push({ from: participant.id, to: used.id });
    }
    return createDependencyGraph(nodes, edges);
  }

  close(reason = 'close'): Promise<ShutdownReport> {
    const deadline = this.givenDeadline ?? new Deadline(this.settings.shutdownTimeout);
    this.givenDeadline = undefined;
    if (this.current === 'starting') return this.abortStartup(reason, deadline);
    this.closing ??= this.stop(reason, deadline);
    return this.closing;
  }

  /**
   * close(), with the deadline made where shutdown started (a signal handler). It goes through
   * close() itself, so whatever wraps close() sees every shutdown. Idempotent like close().
   */
  shutdown(reason: string, deadline: Deadline): Promise<ShutdownReport> {
    this.givenDeadline = deadline;
    return this.close(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close('asyncDispose').then(() => undefined);
  }

  /** init -> start -> ready; on failure rolls back and rejects with the error naming the culprit. */
  async start(): Promise<void> {
    const startedAt = Date.now();
    const run = {
      deadline: new Deadline(this.settings.startupTimeout),
      signal: this.startupAbort.signal,
      // a signal's shutdown deadline runs from the signal: leave rollback half of it
      abortGraceMs: this.settings.shutdownTimeout / 2,
    };
    try {
      await this.phases.init(run);
      await this.phases.start(run, { app: this, isReady: this.isReady });
    } catch (error) {
      const failure = this.startupError(error);
      this.settings.logger.error({ err: loggable(failure.cause ?? failure), code: failure.code }, failure.message);
      this.closing ??= this.stop('startup-rollback', this.abortDeadline ?? new Deadline(this.settings.shutdownTimeout));
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

  private abortStartup(reason: string, deadline: Deadline): Promise<ShutdownReport> {
    if (!this.startupAbort.signal.aborted) {
      this.abortDeadline = deadline;
      this.startupAbort.abort(reason);
    }
    // start() rolls back as soon as the scheduler notices the abort; if startup had already won the race, close now
    return this.startupSettled.then(() => this.shutdown(reason, deadline));
  }

  /** Never throws, whatever was thrown: bootstrap must settle. */
  private startupError(error: unknown): QuiesceError & { cause?: unknown } {
    const failure = error instanceof StartupFailure ? error : undefined;
    const node = failure?.taskId ? this.container.graph.nodes.find((n) => n.id === failure.taskId) : undefined;
    const where = node ? `${node.name} in ${describeModule(node.def.module)}` : (failure?.taskName ?? 'startup');
    // a participant that already named its culprit (the HTTP setup) is not wrapped a second time
    if (failure?.kind === 'failed' && failure.cause instanceof InitFailedError) return failure.cause;
    try {
      if (failure?.kind === 'timeout') return new StartupTimeoutError(where, this.settings.startupTimeout, failure.cause);
      if (failure?.kind === 'aborted') return new StartupAbortedError(describe(failure.cause));
      return new InitFailedError(where, failure ? failure.cause : error);
    } catch {
      // the cause could not be described (a value String() cannot convert): name the culprit anyway
      const cause = failure ? failure.cause : error;
      const error_ = new InitFailedError(where, new Error(`a thrown value that cannot be described (${cause === null ? 'null' : typeof cause})`));
      return Object.assign(error_, { cause });
    }
  }

  private async stop(reason: string, deadline: Deadline): Promise<ShutdownReport> {
    this.current = 'stopping';
    this.container.closeAppOwner();
    try {
      return await this.phases.shutdown(reason, deadline, this.container.openScopes);
    } catch (error) {
      // a bug of ours, not a hook's failure (those are in the report): close() still resolves
      this.settings.logger.error({ error: describe(error), reason }, 'shutdown failed');
      return { reason, ok: false, durationMs: 0, steps: [] };
    } finally {
      this.current = 'stopped';
      this.markStopped();
    }
  }
}

