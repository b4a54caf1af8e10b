/**
 * The shutdown scheduler behind app.close(): runs destroy steps in dependency order under two budgets
 * (each part's own timeout, one global deadline) and reports what happened. It never rejects because a
 * hook failed; every failure is collected in the report.
 *
 * - A step starts the moment every task in its `after` (its dependents) has finished: ok, failed or past
 *   its budget. No level barriers, so with 'graph' the total is the critical path. 'sequential' chains
 *   the steps in array order instead.
 * - A step runs its parts one after the other; a failing or timed-out part does not stop the rest.
 *   The step reports its first non-ok status and that error.
 * - One global timer. When the deadline passes, running steps are 'timeout', unstarted ones 'skipped',
 *   and the report resolves at once. Anything observed at or after the deadline (a late timer, a late
 *   completion) goes through the same decision, `Deadline.passed()`, so a step never starts at the
 *   deadline and then gets reported 'timeout' instead of 'skipped'.
 */
import type { Logger } from 'pino';
import { HookTimeoutError, describe } from '../errors.js';
import type { ShutdownReport, ShutdownStep, StepStatus } from '../types.js';
import { Deadline, assertTaskOrder, runWithTimeout, startTimer, unlimitedAbortController } from './deadline.js';
import type { ShutdownTask } from './tasks.js';

export interface ShutdownOptions {
  /** Why: the signal name, 'close', 'startup-rollback', ... Passed to every hook. */
  reason: string;
  /**
   * The global deadline, created once where shutdown starts (a signal handler, app.close()) and passed
   * down, so every phase and the HTTP drain share one budget. Its clock (`deadline.now`) is this run's clock.
   */
  deadline: Deadline;
  concurrency: 'graph' | 'sequential';
  logger?: Logger;
}

/**
 * Runs `tasks` (in topological order: each after every id in its `after`) and resolves with the report.
 * Rejects only on invalid input (unknown or out-of-order ids in `after`), which is a programming error.
 */
export async function runShutdown(tasks: readonly ShutdownTask[], options: ShutdownOptions): Promise<ShutdownReport> {
  assertTaskOrder(tasks, 'runShutdown');
  return new ShutdownRun(tasks, options).report;
}

interface StepState {
  task: ShutdownTask;
  /** Unfinished tasks this one waits for. */
  waitingFor: number;
  started: boolean;
  running: boolean;
  startMs: number;
  endMs: number;
  status?: Exclude<StepStatus, 'ok' | 'skipped'>;
  error?: string;
  /** The part running now, to name it when the global deadline cuts it off. */
  current?: { label: string; budgetMs: number };
}

class ShutdownRun {
  readonly report: Promise<ShutdownReport>;
  private resolve: (report: ShutdownReport) => void = () => {};
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly deadline: Deadline;
  /** Parent of every running part's signal: one listener per running part, so no listener limit. */
  private readonly deadlineAbort = unlimitedAbortController();
  private readonly cancelDeadline: () => void;
  private readonly states: StepState[];
  /** id -> the states that wait for it */
  private readonly waiters = new Map<string, StepState[]>();
  private readonly startOrder: StepState[] = [];
  private unfinished: number;
  private done = false;

  constructor(
    tasks: readonly ShutdownTask[],
    private readonly options: ShutdownOptions,
  ) {
    this.report = new Promise((resolve) => (this.resolve = resolve));
    this.now = options.deadline.now;
    this.startedAt = this.now();
    this.deadline = options.deadline;
    this.unfinished = tasks.length;

    this.states = tasks.map((task, index) => {
      const after = options.concurrency === 'sequential' ? (index > 0 ? [tasks[index - 1]!.id] : []) : task.after;
      const state: StepState = { task, waitingFor: after.length, started: false, running: false, startMs: -1, endMs: -1 };
      for (const id of after) {
        const list = this.waiters.get(id) ?? [];
        list.push(state);
        this.waiters.set(id, list);
      }
      return state;
    });

    options.logger?.info(
      { reason: options.reason, steps: tasks.length, timeoutMs: options.deadline.budgetMs, concurrency: options.concurrency },
      'shutdown started',
    );
    this.cancelDeadline = startTimer(options.deadline.left(), () => this.deadlinePassed());
    if (tasks.length === 0) {
      this.finish();
      return;
    }
    // Roots first, then the rest as their dependents finish (steps without parts finish synchronously).
    const roots = this.states.filter((state) => state.waitingFor === 0);
    for (const state of roots) this.start(state);
  }

  private elapsed(): number {
    return this.now() - this.startedAt;
  }

  /**
   * The one place that decides "deadline or not": true (and the run is over) when the deadline has
   * passed, whichever timer fired first.
   */
  private overDeadline(): boolean {
    if (this.done) return true;
    if (!this.deadline.passed()) return false;
    this.deadlinePassed();
    return true;
  }

  private start(state: StepState): void {
    if (state.started || this.overDeadline()) return;
    state.started = true;
    state.running = true;
    state.startMs = this.elapsed();
    this.startOrder.push(state);
    void this.runParts(state);
  }

  private async runParts(state: StepState): Promise<void> {
    const { reason } = this.options;
    for (const part of state.task.parts) {
      if (this.overDeadline()) return;
      const left = this.deadline.left();
      const own = part.timeout !== undefined && part.timeout < left ? Math.max(0, part.timeout) : undefined;
      state.current = { label: part.label, budgetMs: own ?? left };
      try {
        await runWithTimeout((signal) => part.run({ signal, deadline: this.deadline.at, reason }), {
          timeoutMs: own,
          label: part.label,
          parentSignal: this.deadlineAbort.signal,
        });
      } catch (error) {
        if (this.overDeadline()) return;
        if (state.status === undefined) {
          state.status = error instanceof HookTimeoutError ? 'timeout' : 'failed';
          state.error = describe(error);
        }
      }
    }
    if (this.overDeadline()) return;
    this.end(state, this.elapsed());
    for (const waiter of this.waiters.get(state.task.id) ?? []) {
      waiter.waitingFor -= 1;
      if (waiter.waitingFor === 0) this.start(waiter);
    }
    if (this.unfinished === 0) this.finish();
  }

  private end(state: StepState, endMs: number): void {
    state.running = false;
    state.current = undefined;
    state.endMs = endMs;
    this.unfinished -= 1;
    if (state.status !== undefined) this.logStep(state);
  }

  private deadlinePassed(): void {
    if (this.done) return;
    this.done = true;
    this.deadlineAbort.abort(new HookTimeoutError(`shutdown (${this.options.reason})`, this.deadline.budgetMs));
    for (const state of this.startOrder) {
      if (!state.running) continue;
      if (state.status === undefined) {
        state.status = 'timeout';
        const part = state.current;
        state.error = part
          ? new HookTimeoutError(part.label, part.budgetMs).message
          : `${state.task.name} did not finish before the shutdown deadline (${this.deadline.budgetMs} ms).`;
      }
      this.end(state, Math.max(0, this.deadline.at - this.startedAt));
    }
    this.finish();
  }

  private finish(): void {
    this.done = true;
    this.cancelDeadline();
    const steps = [...this.startOrder, ...this.states.filter((state) => !state.started)].map(toStep);
    const counts = { ok: 0, failed: 0, timeout: 0, skipped: 0 };
    for (const step of steps) counts[step.status] += 1;
    const report: ShutdownReport = {
      reason: this.options.reason,
      ok: steps.every((step) => step.status === 'ok'),
      durationMs: this.elapsed(),
      steps,
    };
    const log = this.options.logger;
    // the whole report goes into the summary line: a signal-started shutdown ends in process.exit,
    // and this line is how an operator (or a log pipeline) gets the report
    if (report.ok) log?.info({ ok: true, durationMs: report.durationMs, counts, report }, 'shutdown finished');
    else log?.warn({ ok: false, durationMs: report.durationMs, counts, report }, 'shutdown finished with problems');
    this.resolve(report);
  }

  private logStep(state: StepState): void {
    const fields = {
      step: state.task.name,
      id: state.task.id,
      kind: state.task.kind,
      status: state.status,
      ms: state.endMs - state.startMs,
      error: state.error,
    };
    if (state.status === 'failed') this.options.logger?.error(fields, 'shutdown step failed');
    else this.options.logger?.warn(fields, 'shutdown step timed out');
  }
}

function toStep(state: StepState): ShutdownStep {
  const { task } = state;
  const step: ShutdownStep = {
    id: task.id,
    name: task.name,
    kind: task.kind,
    status: state.started ? (state.status ?? 'ok') : 'skipped',
    startMs: state.started ? state.startMs : -1,
    endMs: state.started ? state.endMs : -1,
  };
  if (!state.started) step.error = 'not started: the shutdown deadline passed first';
  else if (state.error !== undefined) step.error = state.error;
  return step;
}
