import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  DEADLINE_EXIT_GRACE_MS,
  WATCHDOG_GRACE_MS,
  installProcessHandlers,
  signalExitCode,
  type ProcessHandlerOptions,
  type ProcessLike,
  type ShutdownTarget,
} from '../../src/process/signals.js';
import { startWatchdog } from '../../src/process/watchdog.js';
import type { ShutdownReport } from '../../src/types.js';
import { deferred, type Deferred } from '../support/async.js';

// The real watchdog kills the real process; here we only check when it is started and stood down.
const watchdogStop = vi.fn<() => void>();
vi.mock('../../src/process/watchdog.js', () => ({ startWatchdog: vi.fn(() => ({ stop: watchdogStop })) }));

/** A process that records exits instead of exiting; signals are plain events. */
class FakeProcess extends EventEmitter {
  exit = vi.fn<(code?: number) => void>();
}


function report(ok: boolean, reason = 'SIGTERM'): ShutdownReport {
  return { reason, ok, durationMs: 12, steps: [] };
}

/** A target whose one shutdown settles when the test says so; idempotent, like App.close(). */
function fakeTarget(): ShutdownTarget & { calls: string[]; pending: Deferred<ShutdownReport> } {
  const pending = deferred<ShutdownReport>();
  const calls: string[] = [];
  return {
    calls,
    pending,
    shutdown(reason) {
      calls.push(reason);
      return pending.promise;
    },
  };
}

const TIMEOUT = 10_000;

function setup(overrides: Partial<ProcessHandlerOptions> = {}) {
  const proc = new FakeProcess();
  const target = fakeTarget();
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const handlers = installProcessHandlers({
    process: proc,
    signals: ['SIGTERM', 'SIGINT'],
    exit: true,
    logger,
    shutdownTimeoutMs: TIMEOUT,
    target,
    ...overrides,
  });
  return { proc, target, lines, handlers };
}

/** Lets promise callbacks run (the report reaching the handler) without moving the clock. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

const EVENTS = ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection'];

beforeEach(() => {
  vi.useFakeTimers();
  vi.mocked(startWatchdog).mockClear();
  watchdogStop.mockClear();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('signalExitCode', () => {
  it('is 128 + the signal number', () => {
    expect(signalExitCode('SIGINT')).toBe(130);
    expect(signalExitCode('SIGTERM')).toBe(143);
    expect(signalExitCode('SIGHUP')).toBe(129);
  });
});

describe('installProcessHandlers', () => {
  it('does nothing until a signal or an uncaught error arrives (a programmatic close never exits)', async () => {
    const { proc, target } = setup();
    // The app closing on its own: the container calls its own close, not us.
    target.pending.resolve(report(true, 'close'));
    await vi.advanceTimersByTimeAsync(TIMEOUT * 2);
    expect(target.calls).toEqual([]);
    expect(proc.exit).not.toHaveBeenCalled();
  });

  it('starts the graceful shutdown on the first signal and exits 0 when the report is ok', async () => {
    const { proc, target, lines } = setup();
    proc.emit('SIGTERM');
    expect(target.calls).toEqual(['SIGTERM']);
    await settle();
    expect(proc.exit).not.toHaveBeenCalled();

    target.pending.resolve(report(true));
    await settle();
    expect(proc.exit).toHaveBeenCalledTimes(1);
    expect(proc.exit).toHaveBeenCalledWith(0);
    expect(lines).toContainEqual(expect.objectContaining({ signal: 'SIGTERM', action: 'shutdown', level: 30 }));
    expect(lines).toContainEqual(expect.objectContaining({ reason: 'SIGTERM', ok: true, exitCode: 0 }));
  });

  it('exits 1 when the report is not ok', async () => {
    const { proc, target } = setup();
    proc.emit('SIGINT');
    target.pending.resolve(report(false, 'SIGINT'));
    await settle();
    expect(proc.exit).toHaveBeenCalledWith(1);
  });

  it('exits 1 when the shutdown rejects or throws', async () => {
    const rejected = setup();
    rejected.proc.emit('SIGTERM');
    rejected.target.pending.reject(new Error('boom'));
    await settle();
    expect(rejected.proc.exit).toHaveBeenCalledWith(1);
    expect(rejected.lines).toContainEqual(expect.objectContaining({ msg: 'shutdown failed', err: expect.objectContaining({ message: 'boom' }) }));

    const thrown = setup({
      target: {
        shutdown() {
          throw new Error('sync boom');
        },
      },
    });
    thrown.proc.emit('SIGTERM');
    expect(thrown.proc.exit).toHaveBeenCalledWith(1);
  });

  it('treats the same signal again within the window as that same signal (npm + terminal Ctrl-C)', async () => {
    const { proc, target, lines } = setup();
    proc.emit('SIGINT');
    await vi.advanceTimersByTimeAsync(5);
    proc.emit('SIGINT');
    await vi.advanceTimersByTimeAsync(990);
    proc.emit('SIGINT');
    expect(target.calls).toEqual(['SIGINT']);
    expect(proc.exit).not.toHaveBeenCalled();
    expect(lines.filter((l) => l.action === 'ignore')).toHaveLength(2);
    expect(lines.find((l) => l.action === 'ignore')).toMatchObject({ signal: 'SIGINT', level: 20 });

    target.pending.resolve(report(true, 'SIGINT'));
    await settle();
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(0);
  });

  it('forces exit with 128 + n on the same signal after the window', async () => {
    const { proc, target, lines } = setup();
    proc.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(1_000);
    proc.emit('SIGTERM');
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(143);
    expect(lines).toContainEqual(expect.objectContaining({ signal: 'SIGTERM', action: 'exit', exitCode: 143 }));

    // The report arriving afterwards does not exit a second time.
    target.pending.resolve(report(true));
    await settle();
    expect(proc.exit).toHaveBeenCalledTimes(1);
  });

  it('forces exit with 128 + n on a different signal, even within the window', async () => {
    const { proc } = setup();
    proc.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(10);
    proc.emit('SIGINT');
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(130);
  });

  it('honours a custom duplicate window', async () => {
    const { proc } = setup({ duplicateWindowMs: 50 });
    proc.emit('SIGINT');
    await vi.advanceTimersByTimeAsync(49);
    proc.emit('SIGINT');
    expect(proc.exit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    proc.emit('SIGINT');
    expect(proc.exit).toHaveBeenCalledWith(130);
  });

  it.each(['uncaughtException', 'unhandledRejection'])('logs an %s, shuts down gracefully and exits 1 whatever the report says', async (event) => {
    const { proc, target, lines } = setup();
    const error = new Error('kaput');
    proc.emit(event, error);
    expect(target.calls).toEqual([event]);
    expect(lines[0]).toMatchObject({ level: 60, event, action: 'shutdown', err: { type: 'Error', message: 'kaput' } });
    expect(proc.exit).not.toHaveBeenCalled();

    target.pending.resolve(report(true, event));
    await settle();
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
  });

  // Root cause: pino's error serializer read the thrown value; a Proxy that throws on every trap made the log
  // call throw inside the handler, so the graceful shutdown never began.
  it('shuts down gracefully after an uncaught value that throws on every read, logging what can be said of it', async () => {
    const { proc, target, lines } = setup();
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('trap');
        },
        getPrototypeOf: () => {
          throw new Error('trap');
        },
        ownKeys: () => {
          throw new Error('trap');
        },
        has: () => {
          throw new Error('trap');
        },
      },
    );
    proc.emit('uncaughtException', hostile);
    expect(target.calls).toEqual(['uncaughtException']);
    expect(lines[0]).toMatchObject({ level: 60, action: 'shutdown', err: { type: 'UnserializableThrownValue' } });
    proc.emit('unhandledRejection', hostile);
    expect(lines.filter((l) => l.action === 'continue')).toHaveLength(1);

    target.pending.resolve(report(true, 'uncaughtException'));
    await settle();
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
  });

  it('logs a second uncaught error during shutdown and keeps going', async () => {
    const { proc, target, lines } = setup();
    proc.emit('uncaughtException', new Error('first'));
    proc.emit('unhandledRejection', new Error('second'));
    proc.emit('uncaughtException', new Error('third'));
    expect(target.calls).toEqual(['uncaughtException']);
    expect(proc.exit).not.toHaveBeenCalled();
    expect(lines.filter((l) => l.action === 'continue')).toHaveLength(2);

    target.pending.resolve(report(true, 'uncaughtException'));
    await settle();
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
  });

  it('exits 1 when an uncaught error happens during a signal-started shutdown with an ok report', async () => {
    const { proc, target } = setup();
    proc.emit('SIGTERM');
    proc.emit('unhandledRejection', 'not even an Error');
    target.pending.resolve(report(true));
    await settle();
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
  });

  it('counts the first signal after an uncaught error as a first signal, not a second one', async () => {
    const { proc } = setup();
    proc.emit('uncaughtException', new Error('x'));
    await vi.advanceTimersByTimeAsync(3_000);
    proc.emit('SIGTERM');
    expect(proc.exit).not.toHaveBeenCalled();
    proc.emit('SIGTERM');
    expect(proc.exit).not.toHaveBeenCalled();
    proc.emit('SIGINT');
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(130);
  });

  it('exits non-zero at the global deadline while the shutdown never finishes', async () => {
    const { proc, lines } = setup();
    proc.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(TIMEOUT - 1);
    expect(proc.exit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1 + DEADLINE_EXIT_GRACE_MS);
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, shutdownTimeoutMs: TIMEOUT, exitCode: 1 }));
  });

  it('stops the deadline timer once the report arrives', async () => {
    const { proc, target } = setup();
    proc.emit('SIGTERM');
    expect(vi.getTimerCount()).toBe(1);
    target.pending.resolve(report(false));
    await settle();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(TIMEOUT * 2);
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
  });

  it('never exits with exit: false, and sets no deadline timer', async () => {
    const { proc, target, lines } = setup({ exit: false });
    proc.emit('SIGTERM');
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    proc.emit('SIGTERM');
    proc.emit('SIGINT');
    proc.emit('uncaughtException', new Error('x'));
    await vi.advanceTimersByTimeAsync(TIMEOUT * 2);
    target.pending.resolve(report(false));
    await settle();
    expect(target.calls).toEqual(['SIGTERM']);
    expect(proc.exit).not.toHaveBeenCalled();
    expect(lines.filter((l) => l.action === 'none')).toHaveLength(2);
  });

  it('starts the graceful shutdown on an uncaught error with exit: false, without exiting', async () => {
    const { proc, target } = setup({ exit: false });
    proc.emit('uncaughtException', new Error('x'));
    target.pending.resolve(report(true));
    await settle();
    expect(target.calls).toEqual(['uncaughtException']);
    expect(proc.exit).not.toHaveBeenCalled();
  });

  it('accepts the real process object (type-level)', () => {
    const real: ProcessLike = process;
    expect(real).toBe(process);
  });

  it('installs nothing when a signal cannot be listened to', () => {
    const proc = new FakeProcess();
    const on = proc.on.bind(proc);
    proc.on = (event: string | symbol, listener: (...args: any[]) => void) => {
      if (event === 'SIGKILL') throw new Error('uv_signal_start EINVAL');
      return on(event, listener);
    };
    const logger = pino({ level: 'silent' });
    expect(() =>
      installProcessHandlers({ process: proc, signals: ['SIGTERM', 'SIGKILL'], exit: true, logger, shutdownTimeoutMs: 1, target: fakeTarget() }),
    ).toThrow('EINVAL');
    for (const event of EVENTS) expect(proc.listenerCount(event)).toBe(0);
  });

  describe('watchdog', () => {
    it('is started when a shutdown starts, not at install, and killing deadline + 500 ms', () => {
      const { proc } = setup({ watchdog: true });
      expect(startWatchdog).not.toHaveBeenCalled();
      const now = Date.now();
      proc.emit('SIGTERM');
      expect(startWatchdog).toHaveBeenCalledTimes(1);
      expect(vi.mocked(startWatchdog).mock.calls[0]?.[0]).toMatchObject({
        killAt: now + TIMEOUT + WATCHDOG_GRACE_MS,
        fields: { event: 'watchdog', reason: 'SIGTERM', shutdownTimeoutMs: TIMEOUT },
      });
    });

    it('is stood down when the report arrives', async () => {
      const { proc, target } = setup({ watchdog: true });
      proc.emit('SIGTERM');
      target.pending.resolve(report(true));
      await settle();
      expect(watchdogStop).toHaveBeenCalled();
      expect(proc.exit).toHaveBeenCalledWith(0);
    });

    it('is stood down on a forced exit', () => {
      const { proc } = setup({ watchdog: true });
      proc.emit('SIGTERM');
      proc.emit('SIGINT');
      expect(watchdogStop).toHaveBeenCalled();
    });

    it('is never started with exit: false, nor by default for a process that is not the real one', () => {
      setup({ watchdog: true, exit: false }).proc.emit('SIGTERM');
      setup().proc.emit('SIGTERM');
      expect(startWatchdog).not.toHaveBeenCalled();
    });

    it('failing to start only costs the watchdog: the deadline still holds', async () => {
      vi.mocked(startWatchdog).mockImplementationOnce(() => {
        throw new Error('no threads here');
      });
      const { proc, lines } = setup({ watchdog: true });
      proc.emit('SIGTERM');
      expect(lines).toContainEqual(expect.objectContaining({ level: 40, err: expect.objectContaining({ message: 'no threads here' }) }));
      await vi.advanceTimersByTimeAsync(TIMEOUT + DEADLINE_EXIT_GRACE_MS);
      expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
    });
  });

  it('listens only to the configured signals', () => {
    const { proc, target } = setup({ signals: ['SIGHUP'] });
    expect(proc.listenerCount('SIGTERM')).toBe(0);
    proc.emit('SIGHUP');
    expect(target.calls).toEqual(['SIGHUP']);
  });

  it('uninstall removes every listener it added, and only those', () => {
    const proc = new FakeProcess();
    proc.setMaxListeners(0);
    const mine = () => {};
    proc.on('SIGTERM', mine);
    const logger = pino({ level: 'silent' });
    const apps = Array.from({ length: 20 }, () =>
      installProcessHandlers({ process: proc, signals: ['SIGTERM', 'SIGINT'], exit: true, logger, shutdownTimeoutMs: 1, target: fakeTarget() }),
    );
    expect(proc.listenerCount('SIGTERM')).toBe(21);
    for (const app of apps) app.uninstall();
    apps[0]?.uninstall(); // idempotent
    expect(proc.listeners('SIGTERM')).toEqual([mine]);
    for (const event of EVENTS.slice(1)) expect(proc.listenerCount(event)).toBe(0);
  });

  it('ignores signals and errors once uninstalled', async () => {
    const { proc, target, handlers } = setup();
    handlers.uninstall();
    proc.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(TIMEOUT * 2);
    expect(target.calls).toEqual([]);
    expect(proc.exit).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('still exits when uninstalled by the container at stop, after a signal-started shutdown', async () => {
    const { proc, target, handlers } = setup();
    proc.emit('SIGTERM');
    // What the container does when the app becomes stopped, just before close() resolves.
    handlers.uninstall();
    // Regression: removing the listeners here restored SIGINT's default action, so the duplicate Ctrl-C
    // npm forwards a moment later killed the process by SIGINT before it could exit with 0.
    expect(proc.listenerCount('SIGTERM')).toBe(1);
    proc.emit('SIGTERM'); // the forwarded duplicate: still the same signal, ignored
    target.pending.resolve(report(true));
    await settle();
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('removes its listeners at uninstall after a programmatic close (no shutdown of its own under way)', () => {
    const { proc, handlers } = setup();
    handlers.uninstall();
    for (const event of EVENTS) expect(proc.listenerCount(event)).toBe(0);
  });

  it('keeps the deadline of a signal-started shutdown after uninstall', async () => {
    const { proc, handlers } = setup();
    proc.emit('SIGTERM');
    handlers.uninstall();
    await vi.advanceTimersByTimeAsync(TIMEOUT + DEADLINE_EXIT_GRACE_MS);
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
  });
});
