/**
 * The shutdown scheduler behind app.close() and every scope's close(): runs destroy steps in dependency
 * order under two budgets (each part's own timeout, one global deadline) and reports what happened. It
 * never rejects because a hook failed; every failure is collected in the report.
 *
 * - A step starts the moment every task in its `after` (its dependents) has finished: ok, failed or past
 *   its budget. No level barriers, so with 'graph' the total is the critical path. 'sequential' chains
 *   the steps in array order instead.
 * - A step runs its parts one after the other; a failing or timed-out part does not stop the rest.
 *   The step reports its first non-ok status and that error.
 * - One global deadline. When it passes, running steps are 'timeout', unstarted ones 'skipped', and the
 *   report resolves at once. Anything observed at or after the deadline (a late timer, a late completion)
 *   goes through the same decision, `overDeadline()`, so a step never starts at the deadline and then gets
 *   reported 'timeout' instead of 'skipped'.
 * - Relay tasks (`relay: true`, no parts) only carry order through instances that have nothing to destroy;
 *   they are not reported. They keep the plan linear in the size of the instance graph (see container/destroy-plan.ts).
 * - Steps are linked by reference (plan.ts): `runPlan` takes a plan built that way (the container builds
 *   its destroy plans from its records, without ids); `runShutdown` links tasks given with ids first.
 *
 * Cost: what finishes at once costs nothing but the calls. A part that returns without a promise needs no
 * timer, no AbortController (a part's signal is created only if the part reads `ctx.signal`), no promise,
 * and one object (its context);
 * a request scope whose parts are all synchronous is destroyed synchronously, inside close(). Only a part
 * that returns a promise gets its own timer (if it has a timeout of its own), and starts the one global
 * timer. Ready steps run from a queue, not recursion, so a long chain of synchronous steps cannot overflow
 * the stack, and nothing is linear in the number of steps running at once (0.1 added one abort listener per
 * running part to a shared signal: quadratic).
 *
 * Promises: every promise made here has both handlers attached, and those handlers cannot throw (thrown
 * values are described by `describe`, which never throws), so no step is left unfinished whatever a part throws.
 */
import type { Logger } from 'pino';
import { HookTimeoutError, describe } from '../errors.js';
import type { ShutdownReport, ShutdownStep } from '../types.js';
import { Deadline, startTimer } from './deadline.js';
import { HookRun, isThenable } from './hook-run.js';
import { linkById, PlanStep } from './plan.js';
import type { ShutdownTask, StepPart } from './tasks.js';

export interface ShutdownOptions {
  /** Why: the signal name, 'close', 'startup-rollback', 'request-end', ... Passed to every hook. */
  reason: string;
  /** The one deadline of this shutdown, created where it started and passed down. */
  deadline?: Deadline;
  /** Without `deadline`: a budget in ms from now, on `now`'s clock. */
  timeoutMs?: number;
  concurrency: 'graph' | 'sequential';
  logger?: Logger;
  /** Clock in epoch ms for `timeoutMs`; default Date.now. */
  now?: () => number;
  /** Called with the report the moment it is complete, before the returned promise resolves. */
  onFinish?: (report: ShutdownReport) => void;
}

/**
 * Runs `tasks` (in topological order: each after every id in its `after`) and resolves with the report.
 * Rejects only on invalid input (unknown or out-of-order ids in `after`, duplicate ids): a programming error.
 * When every part finishes synchronously, the report promise is already resolved when this returns.
 */
export function runShutdown(tasks: readonly ShutdownTask[], options: ShutdownOptions): Promise<ShutdownReport> {
  try {
    return startShutdown(tasks, options);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** runShutdown, but invalid input throws synchronously instead of rejecting. */
export function startShutdown(tasks: readonly ShutdownTask[], options: ShutdownOptions): Promise<ShutdownReport> {
  return runPlan(linkById(tasks), options);
}

/**
 * Runs a plan linked by reference (plan.ts), in topological order (every step after the steps it waits
 * for). The caller vouches for the links: nothing is checked. A plan runs once. Never throws.
 */
export function runPlan(steps: readonly PlanStep[], options: ShutdownOptions): Promise<ShutdownReport> {
  return new ShutdownRun(steps, options).report;
}

/** A part that went asynchronous: its context, its budget and its own timer. */
export class PartRun {
  budgetMs = 0;
  cancelTimer: () => void = noop;
  /** Set once the part's result is known (settled, timed out or cut off): later news is ignored. */
  over = false;

  constructor(
    readonly part: StepPart,
    readonly ctx: HookRun,
  ) {}

  abort(reason: unknown): void {
    HookRun.abort(this.ctx, reason);
  }
}

class ShutdownRun {
  readonly report: Promise<ShutdownReport>;
  private resolve: (report: ShutdownReport) => void = noop;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly deadline: Deadline;
  private cancelDeadline: (() => void) | undefined;
  private readonly startOrder: PlanStep[] = [];
  /** Steps ready to start, and whether a pump is running them (see schedule()). */
  private readonly ready: PlanStep[] = [];
  private pumping = false;
  private unfinished: number;
  private done = false;
  /**
   * The clock as read by the step that just completed, within the same synchronous run of the scheduler
   * (only the scheduler's own code ran since): the next step's start reuses it. Reading a clock costs
   * more than a synchronous no-op step (hundreds of ns on some VMs), and a request scope has several.
   */
  private fresh: number;

  constructor(
    private readonly steps: readonly PlanStep[],
    private readonly options: ShutdownOptions,
  ) {
    if (options.concurrency === 'sequential') chain(steps);
    this.now = options.deadline?.now ?? options.now ?? Date.now;
    this.startedAt = this.now();
    this.deadline = options.deadline ?? new Deadline(options.timeoutMs ?? Infinity, this.now, this.startedAt);
    this.fresh = this.startedAt;
    this.report = new Promise((resolve) => (this.resolve = resolve));
    this.unfinished = steps.length;

    options.logger?.info(
      { reason: options.reason, steps: steps.length, timeoutMs: this.deadline.budgetMs, concurrency: options.concurrency },
      'shutdown started',
    );
    if (steps.length === 0) {
      this.finish(this.startedAt);
      return;
    }
    // Roots first, then the rest as their dependents finish.
    for (let i = 0; i < steps.length; i++) if (steps[i]!.waitingFor === 0) this.ready.push(steps[i]!);
    this.pump();
  }

  /**
   * The one place that decides "deadline or not": true (and the run is over) when the deadline has
   * passed at `now`, whichever timer fired first.
   */
  private overDeadline(now: number): boolean {
    if (this.done) return true;
    if (now < this.deadline.at) return false;
    this.deadlinePassed();
    return true;
  }

  private schedule(state: PlanStep): void {
    this.ready.push(state);
    if (!this.pumping) this.pump();
  }

  /** Starts ready steps until none is left; steps that finish at once make more ready within this loop. */
  private pump(): void {
    this.pumping = true;
    const ready = this.ready;
    for (let i = 0; i < ready.length && !this.done; i++) this.begin(ready[i]!);
    ready.length = 0;
    this.pumping = false;
  }

  private begin(state: PlanStep): void {
    if (state.relay) {
      state.started = true;
      this.complete(state);
      return;
    }
    const now = this.fresh;
    if (state.started || this.overDeadline(now)) return;
    state.started = true;
    state.running = true;
    state.startMs = elapsed(now, this.startedAt);
    this.startOrder.push(state);
    this.runParts(state, 0);
  }

  /** Runs the parts of a step from index `from`, synchronously for as long as they finish at once. */
  private runParts(state: PlanStep, from: number): void {
    const parts = state.parts;
    for (let i = from; i < parts.length; i++) {
      if (i > 0 && this.overDeadline((this.fresh = this.now()))) return;
      const part = parts[i]!;
      // a part's context (hook-run.ts): its signal is made only if the part reads it; no parent to link to
      const ctx = new HookRun(this.deadline.at, this.options.reason, undefined);
      let result: unknown;
      let thenable: boolean;
      try {
        result = part.run(ctx);
        thenable = isThenable(result); // reads `then`, which a hostile value may make throw
      } catch (error) {
        this.fail(state, error);
        continue;
      }
      if (thenable) {
        this.waitFor(state, i, new PartRun(part, ctx), result as PromiseLike<unknown>);
        return;
      }
    }
    this.complete(state);
  }

  /** A part returned a promise: wait for it under its own timeout and the global deadline, then go on. */
  private waitFor(state: PlanStep, index: number, run: PartRun, result: PromiseLike<unknown>): void {
    this.cancelDeadline ??= startTimer(this.deadline.left(), () => this.overDeadline(Math.max(this.now(), this.deadline.at)));
    const left = this.deadline.left();
    const ownTimeout = run.part.timeout;
    const own = ownTimeout !== undefined && ownTimeout < left ? Math.max(0, ownTimeout) : undefined;
    run.budgetMs = own ?? left;
    state.current = run;
    const settled = (error: unknown, failed: boolean): void => {
      if (run.over) return;
      run.cancelTimer();
      // still `current` while the deadline decides: a part cut off at the deadline is named in the report
      if (this.overDeadline(this.now())) return;
      run.over = true;
      state.current = undefined;
      if (failed) this.fail(state, error);
      this.runParts(state, index + 1);
    };
    if (own !== undefined) {
      run.cancelTimer = startTimer(own, () => {
        if (run.over) return;
        // a step timer that fires at or after the deadline (a late timer): the deadline decides
        if (this.overDeadline(this.now())) return;
        const error = new HookTimeoutError(run.part.label, own);
        run.abort(error);
        settled(error, true);
      });
    }
    const onFulfilled = (): void => settled(undefined, false);
    const onRejected = (error: unknown): void => settled(error, true);
    // a native promise is observed directly; any other thenable is adopted by a promise first, so that
    // a `then` that throws becomes a rejection, never an exception here
    if (result instanceof Promise && Object.getPrototypeOf(result) === Promise.prototype) result.then(onFulfilled, onRejected);
    else new Promise<unknown>((resolve) => resolve(result)).then(onFulfilled, onRejected);
  }

  private fail(state: PlanStep, error: unknown): void {
    if (state.status !== undefined) return;
    state.status = error instanceof HookTimeoutError ? 'timeout' : 'failed';
    state.error = describe(error);
  }

  private complete(state: PlanStep): void {
    if (!state.relay) {
      const now = (this.fresh = this.now());
      if (this.overDeadline(now)) return;
      state.running = false;
      state.endMs = elapsed(now, this.startedAt);
      if (state.status !== undefined) this.logStep(state);
    }
    this.unfinished -= 1;
    const next = state.next;
    if (next !== undefined) {
      for (let i = 0; i < next.length; i++) if (--next[i]!.waitingFor === 0) this.schedule(next[i]!);
    }
    const shared = state.nextShared;
    if (shared !== undefined) {
      for (let i = shared.length - 1; i >= 0; i--) if (--shared[i]!.waitingFor === 0) this.schedule(shared[i]!);
    }
    if (this.unfinished === 0) this.finish(this.fresh);
  }

  private deadlinePassed(): void {
    if (this.done) return;
    this.done = true;
    const budget = this.deadline.budgetMs;
    const cutOff = new HookTimeoutError(`shutdown (${this.options.reason})`, budget);
    for (const state of this.startOrder) {
      if (!state.running) continue;
      state.running = false;
      const run = state.current;
      if (run) {
        run.over = true;
        run.cancelTimer();
        run.abort(cutOff);
      }
      if (state.status === undefined) {
        state.status = 'timeout';
        state.error = run
          ? new HookTimeoutError(run.part.label, run.budgetMs).message
          : `${state.name} did not finish before the shutdown deadline (${budget} ms).`;
      }
      state.endMs = Math.max(state.startMs, elapsed(this.deadline.at, this.startedAt));
      this.logStep(state);
    }
    this.finish(this.now());
  }

  private finish(now: number): void {
    this.done = true;
    this.cancelDeadline?.();
    const steps: ShutdownStep[] = [];
    const started = this.startOrder;
    for (let i = 0; i < started.length; i++) steps.push(toStep(started[i]!));
    const all = this.steps;
    for (let i = 0; i < all.length; i++) if (!all[i]!.started && !all[i]!.relay) steps.push(toStep(all[i]!));
    const report: ShutdownReport = {
      reason: this.options.reason,
      ok: steps.every((step) => step.status === 'ok'),
      durationMs: elapsed(now, this.startedAt),
      steps,
    };
    const log = this.options.logger;
    if (log) {
      const counts = { ok: 0, failed: 0, timeout: 0, skipped: 0 };
      for (let i = 0; i < steps.length; i++) counts[steps[i]!.status] += 1;
      // the whole report goes into the summary line: a signal-started shutdown ends in process.exit,
      // and this line is how an operator (or a log pipeline) gets the report
      if (report.ok) log.info({ ok: true, durationMs: report.durationMs, counts, report }, 'shutdown finished');
      else log.warn({ ok: false, durationMs: report.durationMs, counts, report }, 'shutdown finished with problems');
    }
    try {
      this.options.onFinish?.(report);
    } finally {
      this.resolve(report); // whatever onFinish did
    }
  }

  private logStep(state: PlanStep): void {
    const log = this.options.logger;
    if (!log || state.status === undefined) return;
    const fields = {
      step: state.name,
      id: state.id,
      kind: state.kind,
      status: state.status,
      ms: state.endMs - state.startMs,
      error: state.error,
    };
    if (state.status === 'failed') log.error(fields, 'shutdown step failed');
    else log.warn(fields, 'shutdown step timed out');
  }
}

/** 'sequential': each step waits for the one before it in plan order, and for nothing else. */
function chain(steps: readonly PlanStep[]): void {
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    step.waitingFor = i === 0 ? 0 : 1;
    step.next = i + 1 < steps.length ? [steps[i + 1]!] : undefined;
    step.nextShared = undefined;
  }
}

function toStep(state: PlanStep): ShutdownStep {
  if (!state.started) {
    return { id: state.id, name: state.name, kind: state.kind, status: 'skipped', startMs: -1, endMs: -1, error: 'not started: the shutdown deadline passed first' };
  }
  const step: ShutdownStep = { id: state.id, name: state.name, kind: state.kind, status: state.status ?? 'ok', startMs: state.startMs, endMs: state.endMs };
  if (state.error !== undefined) step.error = state.error;
  return step;
}

/**
 * ms from `from` to `now`, as a small integer whenever it is one. Date.now() returns a double, and V8 keeps
 * the difference of two doubles a double: stored in a step, it makes the field a boxed number, one extra
 * object per timestamp per step (and per report step). Fractional clocks keep their fractions.
 */
function elapsed(now: number, from: number): number {
  const ms = now - from;
  return ms === (ms | 0) ? ms | 0 : ms;
}


function noop(): void {}
