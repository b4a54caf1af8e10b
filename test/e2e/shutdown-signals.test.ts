/**
 * Signals, deadlines and uncaught errors through the whole library: bootstrap + HttpModule + the
 * signal handlers quiesce installs, in a real child process (test/e2e/fixtures/http-app.ts) that
 * gets real signals. Work's @onDestroy is slow, hangs or blocks as each test needs.
 *
 * Lower time bounds are exact; upper bounds add SLACK_MS for a loaded 2-core machine. The only
 * timer here is the wait past the 1 s duplicate-signal window; everything else awaits a line or the exit.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileFixtures, reapAll, startReady, type ChildApp, type Fixtures } from './support/child-app.js';

const SLACK_MS = 1_500;
/** quiesce's window in which a repeat of the first signal is the same signal (CONTRACT §5). */
const DUPLICATE_WINDOW_MS = 1_000;
/** The watchdog kills this long after the global deadline (src/process/signals.ts WATCHDOG_GRACE_MS). */
const WATCHDOG_GRACE_MS = 500;

let fixtures: Fixtures;

beforeAll(() => {
  fixtures = compileFixtures();
});
afterAll(() => fixtures?.remove());
afterEach(reapAll);

async function app(config: object): Promise<ChildApp> {
  return (await startReady(fixtures, 'http-app', config)).child;
}

/** The shutdown is under way and past the HTTP step: Work's destroy hook has started. */
function destroying(child: ChildApp) {
  return child.event('destroy-start');
}

describe('second signals', () => {
  it.each([
    ['SIGTERM', 'SIGINT', 130],
    ['SIGINT', 'SIGTERM', 143],
  ] as const)('%s then %s during shutdown: exits at once with %i', async (first, second, code) => {
    const child = await app({ destroy: 20_000, shutdownTimeout: 30_000 });
    child.kill(first);
    await destroying(child);
    const sentAt = child.kill(second);
    const exit = await child.waitExit(5_000);
    expect(exit).toMatchObject({ code, signal: null });
    expect(exit.at - sentAt).toBeLessThan(SLACK_MS);
    expect(child.events('destroy-end')).toEqual([]);
    expect(child.logs()).toContainEqual(expect.objectContaining({ signal: second, action: 'exit', exitCode: code }));
  });

  it('the same signal twice within 1 s is one graceful shutdown (exit 0)', async () => {
    const child = await app({ destroy: 500, shutdownTimeout: 10_000 });
    const firstAt = child.kill('SIGTERM');
    // only once the first was handled: two signals sent back to back may merge in the kernel
    await destroying(child);
    const secondAt = child.kill('SIGTERM');
    expect(secondAt - firstAt).toBeLessThan(DUPLICATE_WINDOW_MS);
    const exit = await child.waitExit(5_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(child.events('destroy-start')).toHaveLength(1);
    expect(child.events('destroy-end')).toHaveLength(1);
    expect(child.report()).toMatchObject({ reason: 'SIGTERM', ok: true });
    expect(child.logs().filter((line) => line.action === 'shutdown')).toHaveLength(1);
    expect(child.logs().filter((line) => line.action === 'exit')).toEqual([]);
  });

  it('the same signal again after the 1 s window forces exit with 143', async () => {
    const child = await app({ destroy: 20_000, shutdownTimeout: 30_000 });
    const firstAt = child.kill('SIGTERM');
    await destroying(child);
    await delay(DUPLICATE_WINDOW_MS + 200); // a legitimate timer: the window is time itself
    const secondAt = child.kill('SIGTERM');
    expect(secondAt - firstAt).toBeGreaterThan(DUPLICATE_WINDOW_MS);
    const exit = await child.waitExit(5_000);
    expect(exit).toMatchObject({ code: 143, signal: null });
    expect(exit.at - secondAt).toBeLessThan(SLACK_MS);
  });
});

describe('the global deadline', () => {
  const shutdownTimeout = 1_000;

  it('an open interval does not keep a finished shutdown from exiting', async () => {
    const child = await app({ interval: true, shutdownTimeout: 30_000 });
    const sentAt = child.kill('SIGTERM');
    const exit = await child.waitExit(5_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sentAt).toBeLessThan(SLACK_MS);
  });

  it('a destroy hook that hangs, with an open interval: exits non-zero at shutdownTimeout', async () => {
    const child = await app({ destroy: 'hang', interval: true, shutdownTimeout });
    const sentAt = child.kill('SIGTERM');
    const exit = await child.waitExit(shutdownTimeout + 5_000);
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(shutdownTimeout);
    expect(exit.at - sentAt).toBeLessThan(shutdownTimeout + SLACK_MS);
    const report = child.report();
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['http', 'ok'],
      ['Work', 'timeout'],
    ]);
    expect(child.events('destroy-end')).toEqual([]);
  });

  it('a destroy hook that blocks the event loop: the watchdog kills the process shortly after the deadline', async () => {
    const child = await app({ destroy: 'block', shutdownTimeout });
    const sentAt = child.kill('SIGTERM');
    await destroying(child);
    const exit = await child.waitExit(shutdownTimeout + 5_000);
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(shutdownTimeout);
    expect(exit.at - sentAt).toBeLessThan(shutdownTimeout + WATCHDOG_GRACE_MS + SLACK_MS);
    expect(child.errorLines.at(-1)).toMatchObject({ event: 'watchdog', reason: 'SIGTERM', shutdownTimeoutMs: shutdownTimeout });
  });
});

describe('uncaught errors', () => {
  it('an uncaughtException from a timer after ready: graceful shutdown, destroy hooks ran, exit 1', async () => {
    const { child, ready } = await startReady(fixtures, 'http-app', { shutdownTimeout: 10_000 });
    const pool = new Pool(String(ready.url), { connections: 1 });
    try {
      const response = await pool.request({ method: 'GET', path: '/boom' });
      await response.body.text();
      expect(response.statusCode).toBe(200);
    } finally {
      await pool.close();
    }
    const exit = await child.waitExit(5_000);
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(child.events('destroy-start')).toEqual([expect.objectContaining({ reason: 'uncaughtException' })]);
    expect(child.events('destroy-end')).toHaveLength(1);
    // the shutdown itself went well: the exit code is 1 because of the error
    expect(child.report()).toMatchObject({ reason: 'uncaughtException', ok: true });
    expect(child.logs()).toContainEqual(
      expect.objectContaining({ level: 60, event: 'uncaughtException', err: expect.objectContaining({ message: 'fixture: thrown from a timer' }) }),
    );
  });
});
