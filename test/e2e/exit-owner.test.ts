/**
 * One owner of process exit (issue 10 item 5), with real child processes and real signals.
 * two-apps: two apps in one process, each with signal handlers and exit: true, each with one
 * @onDestroy taking a configured time.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileFixtures, reapAll, startReady, type ChildApp, type Fixtures } from './support/child-app.js';

const SLACK_MS = 1_500;

let fixtures: Fixtures;

beforeAll(() => {
  fixtures = compileFixtures();
});
afterAll(() => fixtures?.remove());
afterEach(reapAll);

function destroyEnds(child: ChildApp): Map<number, number> {
  return new Map(child.events('destroy-end').map((line) => [Number(line.app), Number(line.at)]));
}

describe('several apps in one process', () => {
  it('exits once, after every app has finished its shutdown, with 0 when all reports are ok', async () => {
    // Root cause (0.1): each app's handlers called process.exit when its own report arrived, so the first
    // app to finish cut the other's destroy hooks short.
    const { child } = await startReady(fixtures, 'two-apps', { destroyMs: [100, 700] });
    const sentAt = child.kill('SIGTERM');
    const exit = await child.waitExit(10_000);
    const context = child.output.join('\n');
    expect(exit, context).toMatchObject({ code: 0, signal: null });
    const ends = destroyEnds(child);
    expect([...ends.keys()].sort(), context).toEqual([0, 1]);
    // the slower app finished its hook before the process went away
    expect(exit.at, context).toBeGreaterThanOrEqual(ends.get(1)!);
    expect(exit.at - sentAt, context).toBeGreaterThanOrEqual(690);
    expect(exit.at - sentAt, context).toBeLessThan(700 + SLACK_MS);
    // one app logged that it waits for the other; the last one logged the exit
    const finished = child.logs().filter((line) => typeof line.msg === 'string' && line.msg.startsWith('shutdown finished:'));
    expect(finished.map((line) => line.msg), context).toEqual([
      'shutdown finished: exiting once the other apps of this process have finished',
      'shutdown finished: exiting with 0',
    ]);
  });

  it('exits with the worst code: 1 when the app that finished first had a failing report', async () => {
    const { child } = await startReady(fixtures, 'two-apps', { destroyMs: [50, 500], fail: 0 });
    child.kill('SIGTERM');
    const exit = await child.waitExit(10_000);
    expect(exit, child.output.join('\n')).toMatchObject({ code: 1, signal: null });
    expect([...destroyEnds(child).keys()].sort()).toEqual([0, 1]);
  });

  it('exits at the earliest hard deadline when one app overruns it', async () => {
    // app 0 has a 400 ms deadline and a 5 s hook; app 1 finishes at once
    const { child } = await startReady(fixtures, 'two-apps', { destroyMs: [5_000, 10], shutdownTimeout: [400, 10_000] });
    const sentAt = child.kill('SIGTERM');
    const exit = await child.waitExit(10_000);
    expect(exit, child.output.join('\n')).toMatchObject({ code: 1, signal: null });
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(400);
    expect(exit.at - sentAt).toBeLessThan(400 + SLACK_MS);
  });
});
