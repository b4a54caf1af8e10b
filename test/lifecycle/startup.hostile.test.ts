/**
 * Whatever a startup task throws, the startup settles (issue 10 item 3). Root cause in 0.1: the
 * message of the StartupFailure was built with String(cause) inside the callback attached to the
 * task's promise; a value String() cannot convert made that callback throw, the promise it returned
 * rejected unhandled, and runStartup (so bootstrap) stayed pending forever, even past startupTimeout.
 */
import 'reflect-metadata';
import { describe, expect, it, vi } from 'vitest';
import { bootstrap, injectable, Module, onDestroy, onInit, onStart, onStop } from '../../src/index.js';
import { StartupFailure, runStartup } from '../../src/lifecycle/startup.js';
import type { StartupTask } from '../../src/lifecycle/tasks.js';

const hostile: [string, () => unknown][] = [
  ['Object.create(null)', () => Object.create(null) as unknown],
  ['an object whose toString throws', () => ({ toString: () => { throw new Error('no'); } })],
  ['a Symbol', () => Symbol('thrown')],
];

function task(id: string, run: StartupTask['run']): StartupTask {
  return { id, name: id, after: [], run };
}

describe('runStartup with thrown values String() cannot convert', () => {
  it.each(hostile)('rejects with a StartupFailure when a task rejects with %s', async (_, value) => {
    const thrown = value();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point: a non-Error reason
      const run = runStartup([task('a', () => Promise.reject(thrown))], { timeoutMs: 1_000 });
      const settled = run.then(() => 'resolved', (error: unknown) => error);
      const error = (await settled) as StartupFailure;
      expect(error).toBeInstanceOf(StartupFailure);
      expect(error.kind).toBe('failed');
      expect(error.cause).toBe(thrown);
      expect(typeof error.message).toBe('string');
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it.each(hostile)('rejects when a task throws %s synchronously', async (_, value) => {
    const thrown = value();
    const error = (await runStartup([task('a', () => { throw thrown; })], { timeoutMs: 1_000 }).catch((e: unknown) => e)) as StartupFailure;
    expect(error).toMatchObject({ kind: 'failed', taskId: 'a' });
    expect(error.cause).toBe(thrown);
  });

  it('rejects when the abort reason is such a value', async () => {
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      const run = runStartup([task('a', () => new Promise<void>(() => {}))], { timeoutMs: 1_000, signal: controller.signal, abortGraceMs: 10 });
      controller.abort(Object.create(null));
      const settled = run.catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(10);
      expect(await settled).toMatchObject({ kind: 'aborted' });
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('bootstrap with hooks throwing values String() cannot convert', () => {
  it.each(hostile)('rejects with QUIESCE_INIT_FAILED when an @onInit throws %s, and rolls back', async (_, value) => {
    const events: string[] = [];
    @injectable() class Db { @onInit() open() { events.push('Db.open'); } }
    @injectable() class Bad { constructor(readonly db: Db) {} @onInit() async open() { await Promise.resolve(); throw value(); } }
    @Module({ providers: [Db, Bad] }) class AppModule {}
    const error = (await bootstrap(AppModule, { logger: false, signals: false }).catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe('QUIESCE_INIT_FAILED');
    expect(error.message).toMatch(/^Startup failed in Bad in AppModule: /);
  });

  it.each(hostile)('rejects with QUIESCE_INIT_FAILED when an @onStart throws %s', async (_, value) => {
    @injectable() class Consumer { @onStart() start() { throw value(); } }
    @Module({ providers: [Consumer] }) class AppModule {}
    await expect(bootstrap(AppModule, { logger: false, signals: false })).rejects.toMatchObject({ code: 'QUIESCE_INIT_FAILED' });
  });

  it.each(hostile)('close() resolves with the step failed when an @onStop throws %s', async (_, value) => {
    @injectable() class Consumer { @onStop() stop() { throw value(); } @onDestroy() close() {} }
    @Module({ providers: [Consumer] }) class AppModule {}
    const app = await bootstrap(AppModule, { logger: false, signals: false });
    const report = await app.close();
    expect(report.steps.map((s) => [s.kind, s.status])).toEqual([
      ['stop', 'failed'],
      ['destroy', 'ok'],
    ]);
  });
});
