/** Public types shared by several rooms. Behaviour lives elsewhere; these are shapes only. */
import type { FastifyInstance } from 'fastify';
import type { Logger, LoggerOptions } from 'pino';
import type { WorkScope } from './container/scopes.js';
import type { Token } from './tokens.js';

export type Scope = 'singleton' | 'transient' | 'request';

export interface DestroyContext {
  /** Aborts when this hook's timeout or the global shutdown deadline is reached. */
  signal: AbortSignal;
  /** Epoch ms of the global shutdown deadline. */
  deadline: number;
  /** Why shutdown happens: the signal name, 'close', 'startup-rollback', 'request-end', ... */
  reason: string;
}

export type StepStatus = 'ok' | 'failed' | 'timeout' | 'skipped';

export interface ShutdownStep {
  id: string;
  name: string;
  kind: 'http' | 'destroy';
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
  /** A unit-of-work scope: request-scoped providers get one instance per scope (CONTRACT §11). */
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
