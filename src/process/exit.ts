/**
 * The one owner of process exit, shared by every app in the process (one owner per process object).
 *
 * An app whose handlers may exit the process (signals with `exit: true`) joins it. The process exits
 * once, and only here:
 * - when every app whose shutdown has begun has finished it, with the worst code any of them asked
 *   for (a signal reaches every app's handlers in the same emit, so all of them have begun by then);
 * - or at once when one of them forces it: a second signal, or its hard deadline (the earliest wins).
 * An app that is closed programmatically leaves and is no longer waited for.
 *
 * Because the exit happens here and nowhere else, `bootstrap` can wait for it before it rejects after
 * a signal aborted startup: the user's `catch → process.exit(1)` never runs first.
 */
import type { ProcessLike } from './signals.js';

export interface ExitMember {
  /** This app's shutdown began: the process does not exit (gracefully) before it has finished. */
  begin(): void;
  /**
   * This app's shutdown finished and asks for `code`. Returns how many other apps are still shutting
   * down; 0 means the process exits now, with the worst code asked for.
   */
  finish(code: number): number;
  /** How many other apps are shutting down now. */
  othersRunning(): number;
  /** Exits at once with `code` (a forced exit: second signal, hard deadline), whatever the others do. */
  force(code: number): void;
  /** No longer waited for (its app stopped without a shutdown of its own, or its handlers were removed). */
  leave(): void;
  /** Whether the process has been told to exit. */
  readonly exited: boolean;
  /** Resolves once exit() was called: never observable with the real process, which is gone by then. */
  readonly whenExited: Promise<void>;
}

interface Owner {
  running: Set<object>;
  worst: number | undefined;
  exited: boolean;
  whenExited: Promise<void>;
  markExited: () => void;
  /** Flushes the loggers of every member before exiting. */
  flushers: Set<() => void>;
}

const owners = new WeakMap<ProcessLike, Owner>();

function ownerOf(proc: ProcessLike): Owner {
  let owner = owners.get(proc);
  if (!owner) {
    let markExited = (): void => {};
    const whenExited = new Promise<void>((resolve) => (markExited = resolve));
    owner = { running: new Set(), worst: undefined, exited: false, whenExited, markExited, flushers: new Set() };
    owners.set(proc, owner);
  }
  return owner;
}

/** The worse of two exit codes: any failure beats success; among failures the higher code. */
export function worseCode(a: number | undefined, b: number): number {
  if (a === undefined) return b;
  return Math.max(a, b);
}

/** Joins the exit owner of `proc`. `flush` runs (errors ignored) just before the process exits. */
export function joinExitOwner(proc: ProcessLike, flush: () => void): ExitMember {
  const owner = ownerOf(proc);
  const me = {};
  owner.flushers.add(flush);

  const exitNow = (code: number): void => {
    if (owner.exited) return;
    owner.exited = true;
    for (const flusher of owner.flushers) {
      try {
        flusher();
      } catch {
        // a logger that cannot flush must not keep the process from exiting
      }
    }
    owner.markExited();
    proc.exit(code);
  };

  return {
    begin() {
      if (!owner.exited) owner.running.add(me);
    },
    finish(code) {
      owner.running.delete(me);
      owner.worst = worseCode(owner.worst, code);
      const others = owner.running.size;
      if (others === 0) exitNow(owner.worst);
      return others;
    },
    othersRunning() {
      return owner.running.size - (owner.running.has(me) ? 1 : 0);
    },
    force(code) {
      exitNow(code);
    },
    leave() {
      owner.flushers.delete(flush);
      if (!owner.running.delete(me)) return;
      // it was the last one being waited for: the others that finished are exiting now
      if (owner.running.size === 0 && owner.worst !== undefined) exitNow(owner.worst);
    },
    get exited() {
      return owner.exited;
    },
    whenExited: owner.whenExited,
  };
}
