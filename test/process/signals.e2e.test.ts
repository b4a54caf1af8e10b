/**
 * Real signals to real child processes (test/process/fixtures/service.mjs runs src/process with a
 * fake shutdown target). Timing bounds are generous: they catch "never exits" and "exits at the
 * wrong moment", not scheduling jitter. Nothing sleeps to wait for the child: every step awaits a
 * line the child printed or its exit.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileProcessRoom, reap, spawnFixture, type Child } from './child.js';

const SLACK_MS = 2_000;

let room: Awaited<ReturnType<typeof compileProcessRoom>>;
const children: Child[] = [];

beforeAll(async () => {
  room = await compileProcessRoom();
});
afterAll(async () => {
  await room.remove();
});
afterEach(() => {
  for (const child of children.splice(0)) reap(child);
});

interface ServiceConfig {
  target: 'ok' | 'fail' | 'hang' | 'block';
  shutdownMs?: number;
  shutdownTimeoutMs?: number | 'Infinity';
}

async function service(config: ServiceConfig): Promise<Child> {
  const child = spawnFixture('service.mjs', [room.dir, JSON.stringify(config)]);
  children.push(child);
  await child.line('ready');
  return child;
}

/** The child's pino lines (stderr), parsed. */
function logs(child: Child): Record<string, unknown>[] {
  return child
    .stderr()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The fixture's `shutdown <reason> <n>` lines, without the deadline it was given. */
function shutdownLines(child: Child): string[] {
  return child.lines.filter((line) => line.startsWith('shutdown ')).map((line) => line.replace(/ deadline \S+$/, ''));
}

describe('signals, end to end', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('shuts down gracefully on %s and exits 0', async (signal) => {
    const child = await service({ target: 'ok', shutdownMs: 300 });
    const sent = child.kill(signal);
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(shutdownLines(child)).toEqual([`shutdown ${signal} 1`]);
    expect(exit.at - sent).toBeGreaterThanOrEqual(290);
    expect(exit.at - sent).toBeLessThan(300 + SLACK_MS);
    expect(logs(child)).toContainEqual(expect.objectContaining({ signal, action: 'shutdown' }));
  });

  it('exits 1 when the shutdown report is not ok', async () => {
    const child = await service({ target: 'fail', shutdownMs: 100 });
    child.kill('SIGTERM');
    expect(await child.exited).toMatchObject({ code: 1, signal: null });
  });

  it('forces exit with 128 + n on a second, different signal', async () => {
    const child = await service({ target: 'ok', shutdownMs: 20_000, shutdownTimeoutMs: 30_000 });
    child.kill('SIGTERM');
    await child.line(/^shutdown SIGTERM 1 /);
    const sent = child.kill('SIGINT');
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 130, signal: null });
    expect(exit.at - sent).toBeLessThan(SLACK_MS);
  });

  it('treats the same signal twice within 1 s as one signal (npm + terminal Ctrl-C)', async () => {
    const child = await service({ target: 'ok', shutdownMs: 600 });
    child.kill('SIGINT');
    // Only once the first was handled: two signals sent back to back may merge in the kernel.
    await child.line(/^shutdown SIGINT 1 /);
    child.kill('SIGINT');
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(shutdownLines(child)).toEqual(['shutdown SIGINT 1']);
    expect(logs(child)).toContainEqual(expect.objectContaining({ signal: 'SIGINT', action: 'ignore' }));
  });

  it('forces exit with 128 + n on the same signal again after the 1 s window', async () => {
    const child = await service({ target: 'ok', shutdownMs: 20_000, shutdownTimeoutMs: 30_000 });
    child.kill('SIGTERM');
    await child.line(/^shutdown SIGTERM 1 /);
    await delay(1_200);
    const sent = child.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 143, signal: null });
    expect(exit.at - sent).toBeLessThan(SLACK_MS);
  });

  it.each([['Infinity' as const], [1e10]])(
    'with shutdownTimeout %s, SIGTERM runs the graceful shutdown and exits 0 (no hard exit to enforce)',
    async (shutdownTimeoutMs) => {
      // Regression: the hard-exit timer was a raw setTimeout(shutdownTimeout + 100), which Node clamps to
      // 1 ms above 2^31-1: SIGTERM exited 1 at once. Every timer now goes through startTimer, where a
      // budget too long for a timer means no timer.
      const child = await service({ target: 'ok', shutdownMs: 400, shutdownTimeoutMs });
      const sent = child.kill('SIGTERM');
      const exit = await child.exited;
      expect(exit, child.stderr()).toMatchObject({ code: 0, signal: null });
      expect(exit.at - sent).toBeGreaterThanOrEqual(390);
      // the target got the deadline made when the signal arrived
      const line = child.lines.find((l) => l.startsWith('shutdown SIGTERM 1'))!;
      expect(line).toMatch(shutdownTimeoutMs === 'Infinity' ? / deadline Infinity$/ : / deadline \d+$/);
    },
  );

  it('exits non-zero at the global deadline although an open interval keeps the loop alive', async () => {
    const child = await service({ target: 'hang', shutdownTimeoutMs: 1_000 });
    const sent = child.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(exit.at - sent).toBeGreaterThanOrEqual(1_000);
    expect(exit.at - sent).toBeLessThan(1_000 + SLACK_MS);
    expect(logs(child)).toContainEqual(expect.objectContaining({ level: 50, shutdownTimeoutMs: 1_000, exitCode: 1 }));
  });

  it('is killed by the watchdog shortly after the deadline when a hook blocks the event loop', async () => {
    const child = await service({ target: 'block', shutdownMs: 50, shutdownTimeoutMs: 1_000 });
    const sent = child.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(exit.at - sent).toBeGreaterThanOrEqual(1_000);
    expect(exit.at - sent).toBeLessThan(1_000 + SLACK_MS);
    expect(logs(child).at(-1)).toMatchObject({ level: 60, event: 'watchdog', reason: 'SIGTERM', shutdownTimeoutMs: 1_000 });
  });

  it('is killed by the watchdog when the shutdown blocks synchronously, before yielding once', async () => {
    const child = await service({ target: 'block', shutdownMs: 0, shutdownTimeoutMs: 500 });
    const sent = child.kill('SIGTERM');
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(exit.at - sent).toBeGreaterThanOrEqual(500);
    expect(exit.at - sent).toBeLessThan(500 + SLACK_MS);
    expect(logs(child).at(-1)).toMatchObject({ event: 'watchdog' });
  });

  it.each([
    ['throw', 'uncaughtException', 'fixture: uncaught'],
    ['reject', 'unhandledRejection', 'fixture: unhandled'],
  ])('on an uncaught error (%s) logs it, shuts down gracefully and exits 1', async (command, event, message) => {
    const child = await service({ target: 'ok', shutdownMs: 200 });
    child.process.stdin?.write(`${command}\n`);
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 1, signal: null });
    expect(shutdownLines(child)).toEqual([`shutdown ${event} 1`]);
    expect(logs(child)).toContainEqual(expect.objectContaining({ level: 60, event, err: expect.objectContaining({ message }) }));
  });

  it('a watchdog stood down does not kill, even when the loop then blocks past its kill time', async () => {
    const child = spawnFixture('watchdog-standdown.mjs', [room.dir]);
    children.push(child);
    const exit = await child.exited;
    expect(exit, child.stderr()).toMatchObject({ code: 0, signal: null });
    expect(child.lines).toEqual(['alive']);
  });
});
