/**
 * The shapes the lifecycle schedulers work on. The container turns instances into tasks;
 * the schedulers know nothing about providers, only about ids, order and budgets.
 */
import type { HookContext } from '../types.js';

/** One part of a step: an @onStop or @onDestroy method, Symbol.asyncDispose, a provider's dispose, the HTTP drain. */
export interface StepPart {
  /** Human label used in errors and logs, e.g. 'UserService.stop()' or 'Pool dispose()'. */
  label: string;
  /** This part's own budget in ms; undefined = only the global deadline bounds it. */
  timeout?: number;
  /** Throwing (or rejecting) marks the step failed; a thrown HookTimeoutError marks it timeout. */
  run(ctx: HookContext): unknown;
}

export interface ShutdownTask {
  id: string;
  name: string;
  kind: 'http' | 'stop' | 'destroy';
  /** Ids of tasks that must finish (or time out) before this one starts: its dependents. */
  after: readonly string[];
  parts: readonly StepPart[];
  /** Orders only: an instance with nothing to destroy that dependents' order passes through. Has no
   *  parts and is not reported (destroy plans stay linear: see container/destroy-plan.ts). */
  relay?: boolean;
}

export interface StartupTask {
  id: string;
  name: string;
  /** Ids of tasks that must complete before this one starts: its dependencies. */
  after: readonly string[];
  /** Creates the instance and runs its init hooks. `signal` aborts at the startup deadline or on abort.
   *  Returning undefined means it completed synchronously (no promise is made for it); a promise's value is ignored. */
  run(signal: AbortSignal): Promise<unknown> | void;
}
