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
 *
 * Cost: what finishes at once costs nothing but the calls. A part that returns without a promise needs no
 * timer, no AbortController (a part's signal is created only if the part reads `ctx.signal`), no promise;
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
import type { DestroyContext, ShutdownReport, ShutdownStep, StepStatus } from '../types.js';
import { Deadline, startTimer } from './deadline.js';
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
  return new ShutdownRun(tasks, options).report;
}

interface StepState {
  readonly task: ShutdownTask;
  /** Unfinished tasks this one waits for. */
  waitingFor: number;
  /** The states waiting for this one. */
  next: StepState[] | undefined;
  started: boolean;
  running: boolean;
  startMs: number;
  endMs: number;
  status?: Exclude<StepStatus, 'ok' | 'skipped'>;
  error?: string;
  /** The part running now when it went asynchronous, to cut it off at the deadline. */
  current?: PartRun;
}

/**
 * What a part receives. `signal` is created on first read: creating an AbortSignal costs far more than
 * a part that returns at once (measured: microseconds against nanoseconds). It is a getter on the class,
 * so spreading the context (`{ ...ctx }`) copies only deadline and reason: pass ctx itself along.
 */
class PartContext implements DestroyContext {
  readonly #run: PartRun;

  constructor(
    run: PartRun,
    readonly deadline: number,
    readonly reason: string,
  ) {
    this.#run = run;
  }

  get signal(): AbortSignal {
    return this.#run.signal();
  }
}

/** One part of a step while it runs: its context and, once it went asynchronous, its own timer. */
class PartRun {
  readonly ctx: PartContext;
  budgetMs = 0;
  cancelTimer: () => void = noop;
  /** Set once the part's result is known (settled, timed out or cut off): later news is ignored. */
  over = false;
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;

  constructor(
    readonly part: StepPart,
    deadline: number,
    reason: string,
  ) {
    this.ctx = new PartContext(this, deadline, reason);
  }

  signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedWith) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
  }
}

class ShutdownRun {
  readonly report: Promise<ShutdownReport>;
  private resolve: (report: ShutdownReport) => void = noop;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly deadline: Deadline;
  private cancelDeadline: (() => void) | undefined;
  private readonly states: StepState[];
  private readonly startOrder: StepState[] = [];
  /** Steps ready to start, and whether a pump is running them (see schedule()). */
  private readonly ready: StepState[] = [];
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
    tasks: readonly ShutdownTask[],
    private readonly options: ShutdownOptions,
  ) {
    this.states = buildStates(tasks, options.concurrency);
    this.now = options.deadline?.now ?? options.now ?? Date.now;
    this.startedAt = this.now();
    this.deadline = options.deadline ?? new Deadline(options.timeoutMs ?? Infinity, this.now, this.startedAt);
    this.fresh = this.startedAt;
    this.report = new Promise((resolve) => (this.resolve = resolve));
    this.unfinished = tasks.length;

    options.logger?.info(
      { reason: options.reason, steps: tasks.length, timeoutMs: this.deadline.budgetMs, concurrency: options.concurrency },
      'shutdown started',
    );
    if (tasks.length === 0) {
      this.finish(this.startedAt);
      return;
    }
    // Roots first, then the rest as their dependents finish.
    for (const state of this.states) if (state.waitingFor === 0) this.ready.push(state);
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

  private schedule(state: StepState): void {
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

  private begin(state: StepState): void {
    if (state.task.relay) {
      state.started = true;
      this.complete(state);
      return;
    }
    const now = this.fresh;
    if (state.started || this.overDeadline(now)) return;
    state.started = true;
    state.running = true;
    state.startMs = now - this.startedAt;
    this.startOrder.push(state);
    this.runParts(state, 0);
  }

  /** Runs the parts of a step from index `from`, synchronously for as long as they finish at once. */
  private runParts(state: StepState, from: number): void {
    const parts = state.task.parts;
    for (let i = from; i < parts.length; i++) {
      if (i > 0 && this.overDeadline((this.fresh = this.now()))) return;
      const run = new PartRun(parts[i]!, this.deadline.at, this.options.reason);
      let result: unknown;
      let thenable: boolean;
      try {
        result = run.part.run(run.ctx);
        thenable = isThenable(result); // reads `then`, which a hostile value may make throw
      } catch (error) {
        this.fail(state, error);
        continue;
      }
      if (thenable) {
        this.waitFor(state, i, run, result as PromiseLike<unknown>);
        return;
      }
    }
    this.complete(state);
  }

  /** A part returned a promise: wait for it under its own timeout and the global deadline, then go on. */
  private waitFor(state: StepState, index: number, run: PartRun, result: PromiseLike<unknown>): void {
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

  private fail(state: StepState, error: unknown): void {
    if (state.status !== undefined) return;
    state.status = error instanceof HookTimeoutError ? 'timeout' : 'failed';
    state.error = describe(error);
  }

  private complete(state: StepState): void {
    if (!state.task.relay) {
      const now = (this.fresh = this.now());
      if (this.overDeadline(now)) return;
      state.running = false;
      state.endMs = now - this.startedAt;
      if (state.status !== undefined) this.logStep(state);
    }
    this.unfinished -= 1;
    const next = state.next;
    if (next !== undefined) {
      for (const waiter of next) if (--waiter.waitingFor === 0) this.schedule(waiter);
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
          : `${state.task.name} did not finish before the shutdown deadline (${budget} ms).`;
      }
      state.endMs = Math.max(state.startMs, this.deadline.at - this.startedAt);
      this.logStep(state);
    }
    this.finish(this.now());
  }

  private finish(now: number): void {
    this.done = true;
    this.cancelDeadline?.();
    const steps: ShutdownStep[] = [];
    for (const state of this.startOrder) steps.push(toStep(state));
    for (const state of this.states) if (!state.started && !state.task.relay) steps.push(toStep(state));
    const report: ShutdownReport = {
      reason: this.options.reason,
      ok: steps.every((step) => step.status === 'ok'),
      durationMs: now - this.startedAt,
      steps,
    };
    const log = this.options.logger;
    if (log) {
      const counts = { ok: 0, failed: 0, timeout: 0, skipped: 0 };
      for (const step of steps) counts[step.status] += 1;
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

  private logStep(state: StepState): void {
    const log = this.options.logger;
    if (!log || state.status === undefined) return;
    const fields = {
      step: state.task.name,
      id: state.task.id,
      kind: state.task.kind,
      status: state.status,
      ms: state.endMs - state.startMs,
      error: state.error,
    };
    if (state.status === 'failed') log.error(fields, 'shutdown step failed');
    else log.warn(fields, 'shutdown step timed out');
  }
}

/**
 * One state per task, linked to the states it waits for. Checks the input on the way (one pass, no extra
 * sets): unique ids, and every id in `after` naming a task earlier in the list. Tasks come in a topological
 * order; anything else is a programming error, thrown at once instead of hanging until a deadline.
 */
function buildStates(tasks: readonly ShutdownTask[], concurrency: 'graph' | 'sequential'): StepState[] {
  // ids are looked up only when some task names others: a plan of independent steps needs no map at all
  let byId: Map<string, StepState> | undefined;
  const states: StepState[] = new Array<StepState>(tasks.length);
  let previous: StepState | undefined;
  // the id looked up last: every step of an app plan names the HTTP step first, so most lookups repeat
  let lastId: string | undefined;
  let lastState: StepState | undefined;
  for (let index = 0; index < tasks.length; index++) {
    const task = tasks[index]!;
    const state: StepState = { task, waitingFor: 0, next: undefined, started: false, running: false, startMs: -1, endMs: -1 };
    const after = task.after;
    if (after.length > 0 && byId === undefined && index >= smallPlan) {
      byId = new Map();
      for (let i = 0; i < index; i++) addId(byId, states[i]!);
    } else if (after.length > 0 && byId === undefined && findBefore(states, index, task.id)) {
      throw new Error(`runShutdown: duplicate task id '${task.id}'`);
    }
    for (let a = 0; a < after.length; a++) {
      const id = after[a]!;
      const before = id === lastId ? lastState : byId === undefined ? findBefore(states, index, id) : byId.get(id);
      lastId = id;
      lastState = before;
      if (before === undefined) {
        const known = id === task.id || tasks.some((other) => other.id === id);
        throw new Error(
          known
            ? `runShutdown: task '${task.id}' comes before '${id}' in its after list; tasks must be in topological order`
            : `runShutdown: task '${task.id}' lists unknown id '${id}' in after`,
        );
      }
      if (concurrency === 'graph') link(before, state);
    }
    if (concurrency === 'sequential' && previous) link(previous, state);
    if (byId !== undefined) addId(byId, state);
    states[index] = state;
    previous = state;
  }
  return states;
}

/** Up to this many tasks, ids are found by a scan (a request scope's plan): cheaper than a map. */
const smallPlan = 16;

function findBefore(states: readonly StepState[], index: number, id: string): StepState | undefined {
  for (let i = 0; i < index; i++) if (states[i]!.task.id === id) return states[i];
  return undefined;
}

function addId(byId: Map<string, StepState>, state: StepState): void {
  if (byId.has(state.task.id)) throw new Error(`runShutdown: duplicate task id '${state.task.id}'`);
  byId.set(state.task.id, state);
}

function link(first: StepState, then: StepState): void {
  then.waitingFor += 1;
  if (first.next === undefined) first.next = [then];
  else first.next.push(then);
}

function toStep(state: StepState): ShutdownStep {
  const { task } = state;
  if (!state.started) {
    return { id: task.id, name: task.name, kind: task.kind, status: 'skipped', startMs: -1, endMs: -1, error: 'not started: the shutdown deadline passed first' };
  }
  const step: ShutdownStep = { id: task.id, name: task.name, kind: task.kind, status: state.status ?? 'ok', startMs: state.startMs, endMs: state.endMs };
  if (state.error !== undefined) step.error = state.error;
  return step;
}

/** describe() that cannot throw, whatever was thrown (an object whose toString throws, Object.create(null)). */

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

function noop(): void {}
