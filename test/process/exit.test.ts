import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Deadline } from '../../src/lifecycle/deadline.js';
import { installProcessHandlers, type ProcessHandlerOptions } from '../../src/process/signals.js';
import type { ShutdownReport } from '../../src/types.js';
import { deferred } from '../support/async.js';

/** A process that records exits instead of exiting; signals are plain events. */
class FakeProcess extends EventEmitter {
  exit = vi.fn<(code?: number) => void>();
}

const silent = pino({ level: 'silent' });

function app(proc: FakeProcess, overrides: Partial<ProcessHandlerOptions> = {}) {
  const pending = deferred<ShutdownReport>();
  const deadlines: Deadline[] = [];
  const handlers = installProcessHandlers({
    process: proc,
    signals: ['SIGTERM', 'SIGINT'],
    exit: true,
    logger: silent,
    shutdownTimeoutMs: 10_000,
    watchdog: false,
    target: {
      shutdown(_reason, deadline) {
        deadlines.push(deadline);
        return pending.promise;
      },
    },
    ...overrides,
  });
  return { handlers, deadlines, finish: (ok: boolean) => pending.resolve({ reason: 'SIGTERM', ok, durationMs: 1, steps: [] }) };
}

const settle = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the one owner of process exit', () => {
  it('exits once, after every app whose shutdown began has finished, with the worst code', async () => {
    const proc = new FakeProcess();
    const a = app(proc);
    const b = app(proc);
    const c = app(proc);
    proc.emit('SIGTERM');
    b.finish(false);
    await settle();
    a.finish(true);
    await settle();
    expect(proc.exit).not.toHaveBeenCalled(); // c is still shutting down
    c.finish(true);
    await settle();
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
  });

  it('does not wait for an app that was closed programmatically (it left)', async () => {
    const proc = new FakeProcess();
    const a = app(proc);
    const closed = app(proc);
    closed.handlers.uninstall(); // what bootstrap does once a programmatically closed app is stopped
    proc.emit('SIGTERM');
    a.finish(true);
    await settle();
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(0);
  });

  it('exits at once on a forced exit (a second, different signal) while other apps still shut down', async () => {
    const proc = new FakeProcess();
    app(proc);
    app(proc);
    proc.emit('SIGTERM');
    proc.emit('SIGINT');
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(130);
  });

  it('exits at the earliest hard deadline of the apps shutting down', async () => {
    const proc = new FakeProcess();
    app(proc, { shutdownTimeoutMs: 5_000 });
    app(proc, { shutdownTimeoutMs: 1_000 });
    proc.emit('SIGTERM');
    await vi.advanceTimersByTimeAsync(1_099);
    expect(proc.exit).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(1);
  });

  it('settled() resolves only once the process was told to exit, so bootstrap cannot reject first', async () => {
    const proc = new FakeProcess();
    const a = app(proc);
    const b = app(proc);
    let settled = false;
    void a.handlers.settled().then(() => (settled = true));
    proc.emit('SIGTERM');
    const whenSettled = a.handlers.settled().then(() => {
      settled = true;
      return proc.exit.mock.calls.length;
    });
    a.finish(true);
    await settle();
    expect(settled).toBe(true); // the first call came before any shutdown: nothing to wait for
    settled = false;
    void a.handlers.settled().then(() => (settled = true));
    await settle();
    expect(settled).toBe(false); // a finished, but b has not: no exit yet
    b.finish(true);
    expect(await whenSettled).toBe(1); // exit was called before settled() resolved
  });

  it('settled() resolves at once with exit: false', async () => {
    const proc = new FakeProcess();
    const a = app(proc, { exit: false });
    proc.emit('SIGTERM');
    await expect(a.handlers.settled()).resolves.toBeUndefined();
  });

  it('hands the target the one Deadline, made when the signal arrived', () => {
    const proc = new FakeProcess();
    const a = app(proc, { shutdownTimeoutMs: 3_000 });
    vi.advanceTimersByTime(500);
    const at = Date.now();
    proc.emit('SIGTERM');
    expect(a.deadlines).toHaveLength(1);
    expect(a.deadlines[0]!.at).toBe(at + 3_000);
  });

  it.each([Infinity, 1e10])('with shutdownTimeout %s sets no hard-exit timer: nothing to enforce', async (shutdownTimeoutMs) => {
    // Regression: the hard exit was setTimeout(shutdownTimeout + 100), clamped by Node to 1 ms: exit 1 at once.
    const proc = new FakeProcess();
    const a = app(proc, { shutdownTimeoutMs });
    proc.emit('SIGTERM');
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(proc.exit).not.toHaveBeenCalled();
    a.finish(true);
    await settle();
    expect(proc.exit).toHaveBeenCalledExactlyOnceWith(0);
  });
});
