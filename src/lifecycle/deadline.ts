/**
 * Time budgets shared by the startup and shutdown schedulers: a deadline on one clock,
 * a timer that is safe for any budget, and a function run under a timeout with an AbortSignal.
 */
import { setMaxListeners } from 'node:events';
import { HookTimeoutError } from '../errors.js';

/** setTimeout stores its delay in an int32: anything longer fires after 1 ms instead. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Calls `onFire` after `ms`, or never when `ms` is undefined, not finite or too long for a timer.
 * Returns the function that cancels it; the scheduler cancels every timer it started once it is done,
 * so nothing it created keeps the event loop alive afterwards.
 */
export function startTimer(ms: number | undefined, onFire: () => void, options?: { unref?: boolean }): () => void {
  if (ms === undefined || !Number.isFinite(ms) || ms > MAX_TIMER_MS) return () => {};
  const timer = setTimeout(onFire, Math.max(0, ms));
  // unref: a timer that must not keep an otherwise finished process alive (the hard exit)
  if (options?.unref) timer.unref();
  return () => clearTimeout(timer);
}

/**
 * An AbortController whose signal may have any number of listeners. A scheduler's signal is the parent
 * of every hook running at the same time; past 10 of them Node would warn of a listener leak that is not one.
 */
export function unlimitedAbortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * A point in time on one clock, and the one place that decides whether it has passed.
 * Timers can fire late, and two timers due in the same tick fire in an unspecified order, so the
 * schedulers never trust "which timer fired first": whenever anything happens they ask `passed()`.
 */
export class Deadline {
  /** The deadline in the clock's units (epoch ms with the default clock). */
  readonly at: number;

  constructor(
    readonly budgetMs: number,
    readonly now: () => number = Date.now,
    /** When the budget starts, if the caller has just read the clock; default now(). */
    from?: number,
  ) {
    this.at = (from ?? now()) + budgetMs;
  }

  /** A deadline at epoch ms `at` (e.g. a HookContext's `deadline`), on the same clock. */
  static until(at: number, now: () => number = Date.now): Deadline {
    const from = now();
    return new Deadline(at - from, now, from);
  }

  /** ms left, never negative. */
  left(): number {
    return Math.max(0, this.at - this.now());
  }

  passed(): boolean {
    return this.now() >= this.at;
  }
}

/** Anything a parent signal can abort: an AbortController, or a scheduler's lazily created part context. */
export interface Abortable {
  abort(reason?: unknown): void;
}

interface Fanout {
  readonly children: Set<Abortable>;
  readonly onAbort: () => void;
}

/** One 'abort' listener per parent signal, shared by all of its children (see linkToParent). */
const fanouts = new WeakMap<AbortSignal, Fanout>();

/**
 * Aborts `child` (with the parent's reason) when `parent` aborts, until the returned function unlinks it.
 *
 * Root cause of the quadratic startup and shutdown of 0.1: every running hook added its own 'abort'
 * listener to one shared parent signal, and Node's EventTarget walks its listener list on each add (to
 * drop duplicates), so N hooks ready at once cost O(N²). Here the parent gets one listener that fans out
 * to a Set of children: linking and unlinking are O(1) whatever the number of hooks running at once.
 * The listener is removed once the last child unlinks, so a long-lived parent keeps nothing of finished work.
 */
export function linkToParent(parent: AbortSignal, child: Abortable): () => void {
  if (parent.aborted) {
    child.abort(parent.reason);
    return noop;
  }
  let fanout = fanouts.get(parent);
  if (fanout === undefined) {
    const children = new Set<Abortable>();
    const created: Fanout = {
      children,
      onAbort: () => {
        if (fanouts.get(parent) === created) fanouts.delete(parent);
        const reason: unknown = parent.reason;
        for (const each of [...children]) each.abort(reason);
        children.clear();
      },
    };
    fanout = created;
    fanouts.set(parent, fanout);
    parent.addEventListener('abort', fanout.onAbort, { once: true });
  }
  const linked = fanout;
  linked.children.add(child);
  return () => {
    if (!linked.children.delete(child) || linked.children.size > 0) return;
    if (fanouts.get(parent) === linked) fanouts.delete(parent);
    parent.removeEventListener('abort', linked.onAbort);
  };
}

function noop(): void {}

export interface RunWithTimeoutOptions {
  /** Budget in ms; undefined = no timeout of its own. */
  timeoutMs?: number;
  /** Names the work in the HookTimeoutError, e.g. 'UserService.stop()'. */
  label: string;
  /** Aborting it aborts the signal given to `fn` (with the same reason); it does not reject. */
  parentSignal?: AbortSignal;
}

/**
 * Runs `fn` with an AbortSignal that aborts past `timeoutMs` or when `parentSignal` aborts.
 *
 * - Resolves or rejects as `fn` does; a synchronous value or throw works too.
 * - Past `timeoutMs` it aborts the signal and rejects with `HookTimeoutError(label, timeoutMs)`;
 *   whatever `fn` does afterwards is ignored (a late rejection is handled, never unhandled).
 * - A parent abort only aborts the signal: the owner of the parent decides what an abort means, and
 *   a caller that waits for `fn` to settle (startup rollback) must not be told it settled when it has not.
 * - Its timer and its link to the parent (linkToParent: O(1)) are removed as soon as the result is known.
 */
export function runWithTimeout<T>(
  fn: (signal: AbortSignal) => T | PromiseLike<T>,
  options: RunWithTimeoutOptions,
): Promise<T> {
  const { timeoutMs, label, parentSignal } = options;
  const controller = new AbortController();
  const unlink = parentSignal ? linkToParent(parentSignal, controller) : noop;

  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let cancelTimer = (): void => {};
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      cancelTimer();
      unlink();
      return true;
    };

    cancelTimer = startTimer(timeoutMs, () => {
      if (!settle()) return;
      const error = new HookTimeoutError(label, timeoutMs ?? 0);
      controller.abort(error);
      reject(error);
    });

    // The executor calls fn synchronously and turns a synchronous throw into a rejection.
    const work = new Promise<T>((resolveWork) => resolveWork(fn(controller.signal)));
    const finish = (): void => {
      if (settle()) resolve(work); // adopts work's value or rejection as it is
    };
    work.then(finish, finish);
  });
}

/**
 * Checks the input both schedulers rely on: unique ids, and every id in a task's `after` naming a task
 * that comes earlier in the list. The container hands tasks over in a topological order; anything else
 * is a programming error, thrown at once instead of hanging until a deadline.
 */
export function assertTaskOrder(tasks: readonly { id: string; after: readonly string[] }[], who: string): void {
  const seen = new Set<string>();
  const all = new Set(tasks.map((task) => task.id));
  for (const task of tasks) {
    if (seen.has(task.id)) throw new Error(`${who}: duplicate task id '${task.id}'`);
    for (const id of task.after) {
      if (seen.has(id)) continue;
      throw new Error(
        all.has(id) || id === task.id
          ? `${who}: task '${task.id}' comes before '${id}' in its after list; tasks must be in topological order`
          : `${who}: task '${task.id}' lists unknown id '${id}' in after`,
      );
    }
    seen.add(task.id);
  }
}
