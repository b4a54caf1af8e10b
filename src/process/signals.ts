/**
 * What a signal does. The one room that touches the process: signal handlers, uncaught errors,
 * the hard deadline, the watchdog and exit codes. The `process` object is injected, so unit tests
 * never send real signals; end-to-end tests send real ones to real child processes.
 *
 * - The first signal starts the graceful shutdown (`target.shutdown(signalName)`).
 * - The same signal again within `duplicateWindowMs` of the first is that same signal: a terminal's
 *   Ctrl-C under `npm start` arrives twice (the terminal signals the process group, npm forwards).
 * - A different signal, or the same one after the window, forces exit at once with 128 + its number.
 * - `uncaughtException` / `unhandledRejection` are logged and start the same graceful shutdown; the
 *   process then exits 1 whatever the report says. Another one during shutdown is logged and
 *   shutdown keeps going (errors from half-torn-down resources are common then; the deadline and
 *   the watchdog bound it anyway); the exit code becomes 1.
 * - Only a shutdown started here exits the process, and only with `exit: true`; the exit itself is
 *   done by the process's one exit owner (exit.ts), which waits for every app shutting down.
 * - The shutdown deadline is made here, once, when the shutdown starts, and handed to the target:
 *   the hard exit, the watchdog and every phase of the app count down the same Deadline. A deadline
 *   too long for a timer (Infinity, 1e10) means no hard exit and no watchdog: nothing to enforce.
 *
 * Exit codes, with `exit: true`:
 *   0        a shutdown started by a signal whose report is ok
 *   1        a report that is not ok; any shutdown during which an uncaught error occurred;
 *            the global deadline passed before shutdown finished
 *            (several apps in one process: the worst code of all of them)
 *   128 + n  forced by a second signal (130 for SIGINT, 143 for SIGTERM)
 *   SIGKILL  the watchdog: the deadline passed and the event loop was blocked (a shell shows 137)
 */
import { constants } from 'node:os';
import { loggable } from '../errors.js';
import type { Logger } from 'pino';
import { Deadline, startTimer } from '../lifecycle/deadline.js';
import type { ShutdownReport } from '../types.js';
import { joinExitOwner, type ExitMember } from './exit.js';
import { startWatchdog, type Watchdog } from './watchdog.js';

/** The part of `NodeJS.Process` this room uses; the real `process` and an EventEmitter with an `exit` spy satisfy it. */
export interface ProcessLike {
  on(event: NodeJS.Signals, listener: NodeJS.SignalsListener): unknown;
  on(event: 'uncaughtException', listener: NodeJS.UncaughtExceptionListener): unknown;
  on(event: 'unhandledRejection', listener: NodeJS.UnhandledRejectionListener): unknown;
  removeListener(event: NodeJS.Signals, listener: NodeJS.SignalsListener): unknown;
  removeListener(event: 'uncaughtException', listener: NodeJS.UncaughtExceptionListener): unknown;
  removeListener(event: 'unhandledRejection', listener: NodeJS.UnhandledRejectionListener): unknown;
  exit(code?: number): void;
}

export interface ShutdownTarget {
  /**
   * Starts the graceful shutdown (during startup: aborts it and rolls back) under `deadline`, made
   * when the shutdown started, and resolves with the report. Idempotent: later calls return the first
   * call's promise.
   */
  shutdown(reason: string, deadline: Deadline): Promise<ShutdownReport>;
}

export interface ProcessHandlerOptions {
  process: ProcessLike;
  /** Signals that start a graceful shutdown, e.g. ['SIGTERM', 'SIGINT']. */
  signals: readonly NodeJS.Signals[];
  /** Exit the process when a shutdown started here ends. */
  exit: boolean;
  logger: Logger;
  /** The global deadline, in ms from the moment shutdown starts. */
  shutdownTimeoutMs: number;
  target: ShutdownTarget;
  /** A repeat of the first signal within this many ms is ignored. Default 1000. */
  duplicateWindowMs?: number;
  /**
   * Start the worker-thread watchdog for blocked event loops when a shutdown starts (only with
   * `exit`). It kills the real process, so the default is true only when `process` is the real
   * one: a test driving a fake process never gets its runner killed.
   */
  watchdog?: boolean;
}

export interface ProcessHandlers {
  /**
   * Removes every listener this installed. A shutdown already started here still ends as it
   * started (with `exit`, the process exits when its report arrives or at the deadline); its
   * deadline timer and watchdog are stopped when it ends.
   */
  uninstall(): void;
  /**
   * Resolves when a shutdown started here has run its course: with `exit`, once the process has been
   * told to exit (so, with the real process, never); at once if no shutdown started here or `exit` is
   * false. bootstrap awaits it before rejecting, so that after a signal during startup the library's
   * exit (0 after a clean rollback) always comes before the user's `catch → process.exit(1)`.
   */
  settled(): Promise<void>;
}

export const DEFAULT_DUPLICATE_WINDOW_MS = 1_000;
/**
 * The hard exit fires this long after the global deadline: the shutdown itself resolves at the
 * deadline, and its report gets this long to arrive (and be logged) before we exit without it.
 */
export const DEADLINE_EXIT_GRACE_MS = 100;
/** The watchdog kills the process this long after the global deadline. */
export const WATCHDOG_GRACE_MS = 500;

/** Deadlines further away than this (ms) are not enforced by a hard exit or a watchdog. */
const MAX_DEADLINE_MS = 2_147_483_647;

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;

/** 128 + the signal's number, the shell's convention for "ended by signal n" (SIGTERM → 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  const n = (constants.signals as Partial<Record<string, number>>)[signal];
  return n === undefined ? EXIT_FAILED : 128 + n;
}

type ErrorEvent = 'uncaughtException' | 'unhandledRejection';

interface Shutdown {
  reason: string;
  /** The first signal received since shutdown started, and when (epoch ms). */
  signal?: { name: NodeJS.Signals; at: number };
  /** An uncaught error started or happened during this shutdown: the exit code is 1. */
  failed: boolean;
  deadline: Deadline;
  /** Cancels the hard-exit timer. */
  cancelHardExit?: () => void;
  watchdog?: Watchdog;
  /** Resolves once the report arrived (or the shutdown failed) and was acted on. */
  done: Promise<void>;
  markDone: () => void;
}

export function installProcessHandlers(options: ProcessHandlerOptions): ProcessHandlers {
  const { process: proc, logger, target, exit, shutdownTimeoutMs } = options;
  const duplicateWindowMs = options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
  const useWatchdog = options.watchdog ?? proc === process;
  let current: Shutdown | undefined;
  const owner: ExitMember | undefined = exit ? joinExitOwner(proc, () => logger.flush()) : undefined;

  function onSignal(signal: NodeJS.Signals): void {
    const now = Date.now();
    if (!current) {
      logger.info({ signal, action: 'shutdown' }, `${signal} received: shutting down gracefully`);
      begin(signal, { name: signal, at: now }, false);
      return;
    }
    const first = current.signal;
    if (!first) {
      // Shutdown started on an uncaught error: this is the first signal, not a second one.
      current.signal = { name: signal, at: now };
      logger.info({ signal, action: 'continue' }, `${signal} received: shutdown already in progress`);
      return;
    }
    if (signal === first.name && now - first.at < duplicateWindowMs) {
      logger.debug({ signal, action: 'ignore' }, `${signal} received again within ${duplicateWindowMs} ms: same signal, ignored`);
      return;
    }
    if (!exit) {
      logger.warn({ signal, action: 'none' }, `${signal} received again during shutdown; exit is false, so the process is not exited`);
      return;
    }
    const code = signalExitCode(signal);
    logger.warn({ signal, action: 'exit', exitCode: code }, `${signal} received during shutdown: exiting at once with ${code}`);
    exitNow(code);
  }

  function onError(event: ErrorEvent, error: unknown): void {
    if (!current) {
      logger.fatal({ err: loggable(error), event, action: 'shutdown' }, `${event}: shutting down`);
      begin(event, undefined, true);
      return;
    }
    current.failed = true;
    logger.error(
      { err: loggable(error), event, action: 'continue' },
      `${event} during shutdown: shutdown continues${exit ? ', then the process exits with 1' : ''}`,
    );
  }

  function begin(reason: string, signal: Shutdown['signal'], failed: boolean): void {
    // The one deadline of this shutdown: made now, handed to the app, counted down by the hard exit.
    let markDone = (): void => {};
    const done = new Promise<void>((resolve) => (markDone = resolve));
    const shutdown: Shutdown = { reason, signal, failed, deadline: new Deadline(shutdownTimeoutMs), done, markDone };
    current = shutdown;
    owner?.begin();
    // Armed before the target runs: a target that blocks synchronously must still meet the deadline.
    if (exit) arm(shutdown);
    const onFailure = (error: unknown): void => {
      logger.error({ err: loggable(error), reason }, 'shutdown failed');
      settle(shutdown, undefined);
    };
    try {
      target.shutdown(reason, shutdown.deadline).then((report) => settle(shutdown, report), onFailure);
    } catch (error) {
      onFailure(error);
    }
  }

  function arm(shutdown: Shutdown): void {
    const { deadline } = shutdown;
    // Infinity (or a deadline too long for a timer): no hard exit, and no watchdog; nothing to enforce.
    shutdown.cancelHardExit = startTimer(
      deadline.left() + DEADLINE_EXIT_GRACE_MS,
      () => {
        logger.error(
          { reason: shutdown.reason, shutdownTimeoutMs, exitCode: EXIT_FAILED },
          `shutdown did not finish within ${shutdownTimeoutMs} ms: exiting with ${EXIT_FAILED}`,
        );
        exitNow(EXIT_FAILED);
      },
      { unref: true },
    );
    if (!useWatchdog || !(deadline.left() + WATCHDOG_GRACE_MS <= MAX_DEADLINE_MS)) return;
    try {
      shutdown.watchdog = startWatchdog({
        killAt: deadline.at + WATCHDOG_GRACE_MS,
        fields: { name: 'quiesce', event: 'watchdog', reason: shutdown.reason, shutdownTimeoutMs, signal: 'SIGKILL' },
        msg:
          `shutdown did not finish within ${shutdownTimeoutMs} ms and the event loop is blocked ` +
          '(a hook that never yields?): the watchdog kills the process with SIGKILL',
        onError: (error) => logger.warn({ err: loggable(error) }, 'the shutdown watchdog failed; the deadline holds only while the event loop runs'),
      });
    } catch (error) {
      logger.warn({ err: loggable(error) }, 'could not start the shutdown watchdog; the deadline holds only while the event loop runs');
    }
  }

  function disarm(shutdown: Shutdown): void {
    shutdown.cancelHardExit?.();
    shutdown.watchdog?.stop();
    shutdown.cancelHardExit = undefined;
    shutdown.watchdog = undefined;
  }

  function settle(shutdown: Shutdown, report: ShutdownReport | undefined): void {
    disarm(shutdown);
    if (owner && !owner.exited) {
      const code = report?.ok && !shutdown.failed ? EXIT_OK : EXIT_FAILED;
      const fields = { reason: shutdown.reason, ok: report?.ok ?? false, durationMs: report?.durationMs, exitCode: code };
      // logged before finish(): when this is the last app shutting down, finish() exits the process
      const others = owner.othersRunning();
      if (others > 0) logger.info({ ...fields, othersRunning: others }, 'shutdown finished: exiting once the other apps of this process have finished');
      else logger.info(fields, `shutdown finished: exiting with ${code}`);
      owner.finish(code);
    }
    shutdown.markDone();
  }

  function exitNow(code: number): void {
    if (current) disarm(current);
    owner?.force(code);
    current?.markDone();
  }

  const signalListeners = options.signals.map((signal) => [signal, () => onSignal(signal)] as const);
  const onUncaughtException = (error: Error) => onError('uncaughtException', error);
  const onUnhandledRejection = (reason: unknown) => onError('unhandledRejection', reason);
  let installed = true;
  const handlers: ProcessHandlers = {
    uninstall() {
      if (!installed) return;
      // A shutdown started here is about to exit the process. Removing a signal listener restores the
      // default action at once, at the OS level: the duplicate Ctrl-C that npm forwards a moment later
      // would then kill the process by SIGINT between the report and process.exit. Keep them until exit.
      if (current && owner && !owner.exited) return;
      installed = false;
      owner?.leave();
      for (const [signal, listener] of signalListeners) proc.removeListener(signal, listener);
      proc.removeListener('uncaughtException', onUncaughtException);
      proc.removeListener('unhandledRejection', onUnhandledRejection);
    },
    settled() {
      if (!current || !owner) return Promise.resolve();
      return current.done.then(() => owner.whenExited);
    },
  };
  try {
    proc.on('uncaughtException', onUncaughtException);
    proc.on('unhandledRejection', onUnhandledRejection);
    // Throws for signals that cannot be caught (SIGKILL, SIGSTOP): then nothing stays installed.
    for (const [signal, listener] of signalListeners) proc.on(signal, listener);
  } catch (error) {
    handlers.uninstall();
    throw error;
  }
  return handlers;
}
