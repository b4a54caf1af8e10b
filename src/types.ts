/** Public types shared by several rooms. Behaviour lives elsewhere; these are shapes only. */
import type { FastifyInstance } from 'fastify';
import type { Logger, LoggerOptions } from 'pino';
import type { WorkScope } from './container/scopes.js';
import type { Token } from './tokens.js';

export type Scope = 'singleton' | 'transient' | 'request';

/**
 * What every lifecycle hook receives (@onInit, @onStart, @onStop, @onDestroy, a provider's dispose).
 */
export interface HookContext {
  /** Aborts when this hook's own timeout or the phase's deadline is reached (or startup is aborted). */
  signal: AbortSignal;
  /** Epoch ms of the phase's deadline: the startup deadline for init and start hooks, the one shutdown
   *  deadline for stop and destroy hooks. Infinity when there is none. */
  deadline: number;
  /** Why: 'init', 'start', or for stop/destroy the signal name, 'close', 'startup-rollback', 'request-end', ... */
  reason: string;
}

/** The context of @onDestroy hooks: the same HookContext (kept as a name for 0.1 code). */
export type DestroyContext = HookContext;

export type StepStatus = 'ok' | 'failed' | 'timeout' | 'skipped';

export interface ShutdownStep {
  id: string;
  name: string;
  /** 'http': the HTTP drain; 'stop': an @onStop step (or the wait for open scopes); 'destroy': a Disposable. */
  kind: 'http' | 'stop' | 'destroy';
  status: StepStatus;
  /** ms since shutdown start (-1 if skipped) */
  startMs: number;
  /** ms since shutdown start (-1 if skipped) */
  endMs: number;
  error?: string;
}

export interface ShutdownReport {
  reason: string;
  ok: boolean;
  durationMs: number;
  steps: ShutdownStep[];
}

export interface GraphNode {
  id: string;
  name: string;
  scope: Scope;
  disposable: boolean;
}

export interface GraphEdge {
  /** the dependent */
  from: string;
  /** its dependency */
  to: string;
}

export interface DependencyGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  toMermaid(): string;
  toDot(): string;
}

export type AppState = 'ready' | 'stopping' | 'stopped';


export interface App extends AsyncDisposable {
  get<T>(token: Token<T>): T;
  getAsync<T>(token: Token<T>): Promise<T>;
  readonly state: AppState;
  readonly url?: string;
  readonly http?: FastifyInstance;
  graph(): DependencyGraph;
  /** A unit-of-work scope: request-scoped providers get one instance per scope (CONTRACT §11); throws
   *  QUIESCE_STOPPING once the app is stopping or stopped. */
  createScope(): WorkScope;
  close(reason?: string): Promise<ShutdownReport>;
}

export type LoggerOption = boolean | LoggerOptions | Logger;

export interface BootstrapOptions {
  /** Global shutdown deadline in ms, from the moment shutdown starts. Default 10_000. */
  shutdownTimeout?: number;
  /** Deadline for the whole startup in ms. Default 30_000. */
  startupTimeout?: number;
  /** Signals that start a graceful shutdown, or false for none. Default ['SIGTERM', 'SIGINT']. */
  signals?: NodeJS.Signals[] | false;
  /** With signals: exit the process after a signal-started shutdown. Default true. */
  exit?: boolean;
  /** pino: true | false | pino options | a pino logger. Default true. */
  logger?: LoggerOption;
  /** 'graph' (default): independent branches concurrently; 'sequential': one at a time. */
  disposeConcurrency?: 'graph' | 'sequential';
}

export interface HookOptions {
  /** ms; default none (only the global deadline bounds the hook) */
  timeout?: number;
}
