/**
 * A signal during startup (test/e2e/fixtures/startup-app.ts) and an app built with createTestApp
 * (test/e2e/fixtures/test-app.ts), each in a real child process with real signals.
 *
 * startup-app: Fast (init done at once) <- Slow (init prints 'starting', then waits) <- Later.
 * The test sends SIGTERM once Slow's init is running, so the signal lands during startup for sure.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileFixtures, reapAll, startChild, startReady, type ChildApp, type Fixtures } from './support/child-app.js';

const SLACK_MS = 1_500;

let fixtures: Fixtures;

beforeAll(() => {
  fixtures = compileFixtures();
});
afterAll(() => fixtures?.remove());
afterEach(reapAll);

function names(child: ChildApp, kind: string): string[] {
  return child.events(kind).map((line) => String(line.name));
}

describe('a signal during startup', () => {
  it('aborts startup and rolls back what finished init (Slow finishes right after the signal)', async () => {
    const child = startChild(fixtures, 'startup-app', { init: 'until-signal', shutdownTimeout: 5_000 });
    await child.event('starting');
    const sentAt = child.kill('SIGTERM');
    const exit = await child.waitExit(10_000);

    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - sentAt).toBeLessThan(SLACK_MS);
    // Regression (exit had two owners): bootstrap rejected with QUIESCE_STARTUP_ABORTED before quiesce
    // exited, and the fixture's catch → process.exit(1) (the README's main) won the race. Now quiesce
    // exits first, so that catch never runs: no 'bootstrap-rejected' line, and the code is 0.
    expect(child.events('bootstrap-rejected')).toEqual([]);
    expect(child.events('ready')).toEqual([]);
    // Slow's init completed (after the signal): it is destroyed too, before Fast, which it depends on
    expect(names(child, 'init')).toEqual(['Fast', 'Slow']);
    expect(names(child, 'destroy')).toEqual(['Slow', 'Fast']);
    expect(child.events('destroy').map((line) => line.reason)).toEqual(['startup-rollback', 'startup-rollback']);
    // the HTTP server, which starts last, never listened
    expect(child.logs().filter((line) => typeof line.msg === 'string' && line.msg.includes('listening'))).toEqual([]);
  });

  it('aborts startup and rolls back what finished init although an init hook is still running', async () => {
    // Slow's @onInit awaits a 120 s timer (e.g. a connect that retries) and ignores the abort signal
    // its context carries. Startup waits for it at most half the shutdown deadline, then rolls back:
    // Fast finished its init before the signal and must be destroyed; Slow and Later must not be.
    const shutdownTimeout = 3_000;
    const child = startChild(fixtures, 'startup-app', { init: 'stuck', shutdownTimeout });
    await child.event('starting');
    const sentAt = child.kill('SIGTERM');
    const exit = await child.waitExit(shutdownTimeout + 5_000);

    const context = `exit ${JSON.stringify(exit)} after ${Math.round(exit.at - sentAt)} ms; output:\n${child.output.join('\n')}`;
    expect(names(child, 'destroy'), context).toEqual(['Fast']);
    expect(child.events('destroy')[0], context).toMatchObject({ reason: 'startup-rollback' });
    expect(exit, context).toMatchObject({ code: 0, signal: null });
    expect(child.events('bootstrap-rejected'), context).toEqual([]);
    // the whole of it, rollback included, stays within the deadline that runs from the signal
    expect(exit.at - sentAt, context).toBeGreaterThanOrEqual(shutdownTimeout / 2);
    expect(exit.at - sentAt, context).toBeLessThan(shutdownTimeout);
  });
});

describe('createTestApp', () => {
  it('installs no process handlers: SIGTERM kills the process with the default action', async () => {
    const { child, ready } = await startReady(fixtures, 'test-app');
    expect(ready).toMatchObject({
      url: null,
      status: 200,
      body: { pong: true },
      listenersAdded: { SIGTERM: 0, SIGINT: 0, uncaughtException: 0, unhandledRejection: 0 },
    });
    child.kill('SIGTERM');
    const exit = await child.waitExit(5_000);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(child.events('destroy')).toEqual([]);
    expect(child.logs()).toEqual([]); // logger off
  });
});
