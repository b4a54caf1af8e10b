/**
 * The startup scheduler: runs each task once all of its dependencies completed, independent tasks
 * concurrently, under one startup deadline. It resolves only when every task completed; otherwise it
 * rejects with a StartupFailure whose `completed` list is exactly what rollback must destroy.
 *
 * How it ends when something goes wrong:
 * - A task fails: that first failure wins, whatever the others do (a naive allSettled would let
 *   startup resolve despite it). Nothing new starts. Tasks already running are waited for, so the ones
 *   that complete land in `completed` and get rolled back; the wait never outlasts the startup deadline.
 * - The startup deadline passes: the signal given to the tasks aborts and it rejects at once, naming
 *   the first-started task still running ('timeout').
 * - The external signal aborts (a SIGTERM during startup): the task signal aborts with the same reason,
 *   nothing new starts, and, as after a failure, running tasks are waited for (bounded by the startup
 *   deadline, and by `abortGraceMs` when given) before it rejects ('aborted'). Waiting is what makes
 *   rollback correct: a task still running may be about to open a pool or a socket, and if we stopped
 *   looking at it now nobody would close it. The abort tells it to give up early; well-behaved tasks
 *   settle at once, so the wait is short. The grace exists because a signal's shutdown deadline is
 *   shorter than the startup deadline: rollback must get its turn before the process is made to exit.
 * A task that settles after the rejection is not in `completed`, so rollback does not wait for it; the
 * container destroys what such a task created the moment it arrives (Container.closeAppScope), and
 * the aborted signal tells it to give up meanwhile.
 *
 * Whatever a task throws (an Error, a string, `Object.create(null)`, an object whose toString throws),
 * the run settles: describing a value never throws here, and every callback the run attaches to a
 * task's promise is guarded, so none of them can end in an unhandled rejection that leaves the run
 * pending (no fire-and-forget promises).
 */
import { StartupTimeoutError, describe } from '../errors.js';
import { Deadline, assertTaskOrder, startTimer, unlimitedAbortController } from './deadline.js';
import type { StartupTask } from './tasks.js';

export interface StartupOptions {
  /** Budget for the whole startup in ms. */
  timeoutMs: number;
  /** External abort, e.g. a SIGTERM during startup. */
  signal?: AbortSignal;
  /** After an external abort, wait at most this long (ms) for running tasks. Default: until the startup deadline. */
  abortGraceMs?: number;
  /** Clock in epoch ms; default Date.now. */
  now?: () => number;
}

export type StartupFailureKind = 'failed' | 'timeout' | 'aborted';

/** Internal: bootstrap turns it into InitFailedError / StartupTimeoutError / StartupAbortedError. */
export class StartupFailure extends Error {
  readonly kind: StartupFailureKind;
  /** 'failed': the task that failed first. 'timeout': the first-started task still running.
   *  'aborted': the first-started task running at the abort, if any. */
  readonly taskId?: string;
  readonly taskName?: string;
  /** 'failed': the task's error. 'aborted': the signal's reason. 'timeout': undefined. */
  override readonly cause: unknown;
  /** Ids of the tasks that completed, in completion order: what rollback must destroy. */
  readonly completed: string[];

  constructor(
    kind: StartupFailureKind,
    details: { task?: StartupTask; cause: unknown; completed: string[]; timeoutMs: number },
  ) {
    const { task, cause, completed, timeoutMs } = details;
    super(failureMessage(kind, task?.name, cause, timeoutMs), { cause });
    this.name = 'StartupFailure';
    this.kind = kind;
    this.taskId = task?.id;
    this.taskName = task?.name;
    this.cause = cause;
    this.completed = completed;
  }
}

function failureMessage(kind: StartupFailureKind, name: string | undefined, cause: unknown, timeoutMs: number): string {
  switch (kind) {
    case 'failed':
      return `Startup failed in ${name ?? 'a task'}: ${describe(cause)}`;
    case 'timeout':
      return `Startup did not finish within ${timeoutMs} ms${name ? ` (${name} was still starting)` : ''}`;
    case 'aborted':
      return `Startup aborted: ${describe(cause)}`;
  }
}

/** describe(), which must never throw whatever was thrown; guarded here too, since the run must settle. */

/**
 * Runs `tasks` (in topological order: each after every id in its `after`) and resolves with their ids
 * in completion order, or rejects with a StartupFailure. Invalid input (unknown or out-of-order ids in
 * `after`) rejects with a plain Error: a programming error.
 */
export async function runStartup(tasks: readonly StartupTask[], options: StartupOptions): Promise<string[]> {
  return new StartupRun(tasks, linkTasks(tasks), options).result;
}

/** Tasks linked by position: what each waits for (a count) and who waits for it, checked on the way. */
interface Links {
  waitingFor: number[];
  dependents: (number[] | undefined)[];
}

/**
 * One pass over the tasks with one map from id to position: unique ids, and every id in a task's `after`
 * naming a task that comes earlier in the list (see assertTaskOrder: the same checks and messages). The
 * run then works on positions, without looking an id up again.
 */
function linkTasks(tasks: readonly StartupTask[]): Links {
  const position = new Map<string, number>();
  const waitingFor: number[] = new Array<number>(tasks.length);
  const dependents: (number[] | undefined)[] = new Array<number[] | undefined>(tasks.length);
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    if (position.has(task.id)) throw new Error(`runStartup: duplicate task id '${task.id}'`);
    const after = task.after;
    for (let a = 0; a < after.length; a++) {
      const before = position.get(after[a]!);
      if (before === undefined) {
        assertTaskOrder(tasks, 'runStartup'); // throws the precise error (unknown id, or out of order)
        throw new Error(`runStartup: task '${task.id}' lists '${after[a]}' in after, which is not an earlier task`);
      }
      const list = dependents[before];
      if (list === undefined) dependents[before] = [i];
      else list.push(i);
    }
    waitingFor[i] = after.length;
    position.set(task.id, i);
  }
  return { waitingFor, dependents };
}

interface Problem {
  kind: StartupFailureKind;
  task?: StartupTask;
  cause: unknown;
}

class StartupRun {
  readonly result: Promise<string[]>;
  private resolve: (ids: string[]) => void = () => {};
  private reject: (failure: StartupFailure) => void = () => {};
  /** 'running' → 'draining' (a failure or abort: waiting for running tasks) → 'done'. */
  private phase: 'running' | 'draining' | 'done' = 'running';
  private problem?: Problem;
  /** The signal every running task gets; one listener per running init hook, so no listener limit. */
  private readonly controller = unlimitedAbortController();
  private readonly deadline: Deadline;
  private cancelDeadline = (): void => {};
  private cancelGrace = (): void => {};
  /** Tasks ready to start, and whether a pump is running them (see pump()). */
  private readonly ready: number[] = [];
  private pumping = false;
  /** Running tasks in start order. */
  private readonly running = new Set<number>();
  private readonly completed: string[] = [];
  private readonly onExternalAbort = (): void => this.guarded(() => this.aborted());

  constructor(
    private readonly tasks: readonly StartupTask[],
    private readonly links: Links,
    private readonly options: StartupOptions,
  ) {
    this.result = new Promise<string[]>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.deadline = new Deadline(options.timeoutMs, options.now);

    const external = options.signal;
    if (external?.aborted) {
      this.aborted();
      return;
    }
    if (tasks.length === 0) {
      this.phase = 'done';
      this.resolve([]);
      return;
    }
    external?.addEventListener('abort', this.onExternalAbort, { once: true });
    this.cancelDeadline = startTimer(options.timeoutMs, () => this.guarded(() => this.deadlinePassed()));
    // roots by their declared dependencies, each with whatever it makes ready at once (depth first: the
    // creation order, which the destroy order reverses); the counts change as tasks complete within this loop
    for (let i = 0; i < tasks.length; i++) {
      if (tasks[i]!.after.length !== 0) continue;
      this.start(i);
      this.pump();
    }
  }

  /** Queues a task whose dependencies completed; pump() runs the queue. */
  private start(index: number): void {
    if (this.phase === 'running') this.ready.push(index);
  }

  /**
   * Runs queued tasks until none is left. A task that completes synchronously (most constructors)
   * settles at once, without a promise, and queues its dependents within this loop, so a 2,000-deep chain
   * of synchronous tasks does not become a 2,000-deep stack. Only the constructor and an asynchronous
   * completion call it, never start() or settled(): the optimizing compiler then does not copy the tasks'
   * own code (all of the container's creation path) into those two as well (measured: a repeated bootstrap
   * of 1,000 providers spent a fifth of its CPU compiling those copies).
   */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let i = 0; i < this.ready.length && this.phase === 'running'; i++) this.runOne(this.ready[i]!);
    } finally {
      this.ready.length = 0;
      this.pumping = false;
    }
  }

  private runOne(index: number): void {
    this.running.add(index);
    let result: Promise<unknown> | void;
    try {
      result = this.tasks[index]!.run(this.controller.signal);
    } catch (error) {
      this.settled(index, false, error);
      return;
    }
    if (result === undefined) {
      this.settled(index, true);
      return;
    }
    // Both callbacks are guarded: the promise this makes can never reject, so nothing is left unhandled.
    Promise.resolve(result).then(
      () => this.guarded(() => this.settledLater(index, true)),
      (error: unknown) => this.guarded(() => this.settledLater(index, false, error)),
    );
  }

  /** Runs the run's own bookkeeping; a bug there rejects the run instead of leaving it pending. */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (this.phase === 'done') return;
      this.phase = 'done';
      this.cleanup();
      this.reject(new StartupFailure('failed', { cause: error, completed: [...this.completed], timeoutMs: this.options.timeoutMs }));
    }
  }

  /** An asynchronous completion: settled, then whatever it made ready runs. */
  private settledLater(index: number, ok: boolean, error?: unknown): void {
    this.settled(index, ok, error);
    this.pump();
  }

  private settled(index: number, ok: boolean, error?: unknown): void {
    if (this.phase === 'done') return; // late: we already rejected; see the header comment
    const task = this.tasks[index]!;
    this.running.delete(index);
    if (ok) this.completed.push(task.id);
    else if (this.phase === 'running') {
      this.phase = 'draining';
      this.problem = { kind: 'failed', task, cause: error };
    }
    // A completion seen past the deadline (its timer was late) is still a completion: it is in
    // `completed` above, so rollback destroys it; the startup as a whole has timed out.
    if (this.deadline.passed()) {
      this.deadlinePassed(task);
      return;
    }

    if (this.phase === 'draining') {
      if (this.running.size === 0) this.fail();
      return;
    }
    if (this.completed.length === this.tasks.length) {
      this.phase = 'done';
      this.cleanup();
      this.resolve([...this.completed]);
      return;
    }
    const dependents = this.links.dependents[index];
    if (dependents === undefined) return;
    const waitingFor = this.links.waitingFor;
    for (let i = 0; i < dependents.length; i++) if (--waitingFor[dependents[i]!]! === 0) this.start(dependents[i]!);
  }

  private aborted(): void {
    if (this.phase === 'done') return;
    const reason: unknown = this.options.signal?.reason;
    this.controller.abort(reason);
    if (this.phase === 'draining') return; // a failure came first and stays the cause
    this.phase = 'draining';
    this.problem = { kind: 'aborted', task: this.firstRunning(), cause: reason };
    if (this.running.size === 0) this.fail();
    else this.cancelGrace = startTimer(this.options.abortGraceMs, () => this.guarded(() => this.fail()));
  }

  /** `late`: the task whose completion revealed that the deadline had passed, if no timer did. */
  private deadlinePassed(late?: StartupTask): void {
    if (this.phase === 'done') return;
    const culprit = this.firstRunning() ?? late;
    if (!this.controller.signal.aborted) {
      this.controller.abort(new StartupTimeoutError(culprit?.name, this.options.timeoutMs));
    }
    // After a failure or an abort, that stays the cause; the deadline only ends the wait.
    this.fail(this.problem ?? { kind: 'timeout', task: culprit, cause: undefined });
  }

  /** The running task that started first. */
  private firstRunning(): StartupTask | undefined {
    const index = this.running.values().next().value;
    return index === undefined ? undefined : this.tasks[index];
  }

  private fail(problem: Problem | undefined = this.problem): void {
    if (this.phase === 'done' || problem === undefined) return;
    this.phase = 'done';
    this.cleanup();
    this.reject(
      new StartupFailure(problem.kind, {
        task: problem.task,
        cause: problem.cause,
        completed: [...this.completed],
        timeoutMs: this.options.timeoutMs,
      }),
    );
  }

  private cleanup(): void {
    this.cancelDeadline();
    this.cancelGrace();
    this.options.signal?.removeEventListener('abort', this.onExternalAbort);
  }
}
