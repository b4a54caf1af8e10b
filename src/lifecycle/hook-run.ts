/**
 * One hook while it runs, at the cost of what it does: a hook that returns without a promise costs one
 * object. Its AbortSignal is made (and linked to a parent signal, if any) only if the hook reads
 * `ctx.signal`: creating an AbortSignal costs microseconds, a hook that returns at once nanoseconds.
 * The container runs init hooks with it (its own timer and promise only if the hook returns a promise:
 * runHook below); the shutdown scheduler gives it to every stop and destroy part, with no parent.
 * Same rules as runWithTimeout (deadline.ts), which made all of them for every hook: 20,000 async init
 * hooks ready at once cost 0.6 s of CPU with it.
 */
import { HookTimeoutError } from '../errors.js';
import type { HookContext } from '../types.js';
import { linkToParent, startTimer } from './deadline.js';
import type { StepPart } from './tasks.js';

/** The context a hook receives. Spreading it copies deadline and reason only (the rest is private). */
export class HookRun implements HookContext {
  #controller: AbortController | undefined = undefined;
  #parent: AbortSignal | undefined;
  #unlink: (() => void) | undefined = undefined;
  #abortedWith: { reason: unknown } | undefined = undefined;

  constructor(
    readonly deadline: number,
    readonly reason: string,
    /** Aborting it aborts this hook's signal (with the same reason), until the hook's result is known. */
    parent: AbortSignal | undefined,
  ) {
    this.#parent = parent;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      if (this.#abortedWith) controller.abort(this.#abortedWith.reason);
      else if (this.#parent) this.#unlink = linkToParent(this.#parent, controller);
    }
    return this.#controller.signal;
  }

  /** Static, so that hooks do not see an abort() on their context. */
  static abort(run: HookRun, reason: unknown): void {
    if (run.#abortedWith) return;
    run.#abortedWith = { reason };
    run.#controller?.abort(reason);
  }

  /** The result is known: the link to the parent goes (linkToParent is O(1)), a parent abort no longer reaches it. */
  static finish(run: HookRun): void {
    run.#parent = undefined;
    run.#unlink?.();
    run.#unlink = undefined;
  }
}

/**
 * Runs `part` with `run` as its context. Returns undefined when it returned without a promise (and `run`
 * is finished), else something to await that settles as the part's result does, or rejects with
 * HookTimeoutError past the part's own timeout (after aborting its signal; what the part does afterwards
 * is ignored). The caller awaits it, then calls HookRun.finish(run). Throws what the part throws.
 *
 * A part without a timeout of its own is awaited as it is (await adopts any thenable, and a `then` that
 * throws becomes a rejection): no promise or closure of ours per hook.
 */
export function runHook(part: StepPart, run: HookRun): PromiseLike<unknown> | undefined {
  let result: unknown;
  try {
    result = part.run(run);
    if (!isThenable(result)) {
      HookRun.finish(run);
      return undefined;
    } // reading `then` may throw too: a failure like any other
  } catch (error) {
    HookRun.finish(run);
    throw error;
  }
  return part.timeout === undefined ? result : settleWithin(result, run, part);
}

function settleWithin(result: PromiseLike<unknown>, run: HookRun, part: StepPart): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      cancelTimer();
      HookRun.finish(run);
      return true;
    };
    const timeout = part.timeout;
    const cancelTimer = startTimer(timeout, () => {
      if (!settle()) return;
      const error = new HookTimeoutError(part.label, timeout ?? 0);
      HookRun.abort(run, error);
      reject(error);
    });
    // adopting the thenable through a promise turns a `then` that throws into a rejection
    new Promise<unknown>((adopt) => adopt(result)).then(
      () => settle() && resolve(),
      (error: unknown) => settle() && reject(error as Error),
    );
  });
}

/** Reads `then`, which a hostile value may make throw: callers treat that as the hook's failure. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}
