/**
 * Init hooks at the cost of what they do (lifecycle/hook-run.ts): a hook that returns at once gets no
 * promise, timer or signal unless it asks; the rules of runWithTimeout still hold for the others; and the
 * container's synchronous path keeps init order and failure reporting.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HookTimeoutError } from '../../src/errors.js';
import { HookRun, runHook } from '../../src/lifecycle/hook-run.js';
import type { StepPart } from '../../src/lifecycle/tasks.js';
import { bootstrap, injectable, Module, onDestroy, onInit, type HookContext } from '../../src/index.js';

const quiet = { logger: false, signals: false } as const;
const part = (run: StepPart['run'], timeout?: number): StepPart => ({ label: 'Thing.start()', run, timeout });

afterEach(() => {
  vi.useRealTimers();
});

describe('runHook', () => {
  it('returns undefined for a hook that returns at once; its context is { deadline, reason } plus a lazy signal', () => {
    let seen: HookContext | undefined;
    const run = new HookRun(123, 'init', undefined);
    expect(runHook(part((ctx) => void (seen = ctx)), run)).toBeUndefined();
    expect({ ...seen }).toEqual({ deadline: 123, reason: 'init' });
    expect(seen!.signal.aborted).toBe(false);
  });

  it('throws what a hook throws, whatever it is', () => {
    const hostile = Object.create(null) as object;
    const throwsHostile = part(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a hostile thrown value
      throw hostile;
    });
    let caught: unknown;
    try {
      runHook(throwsHostile, new HookRun(0, 'init', undefined));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBe(hostile);
  });

  it('a thenable whose then throws is a rejection', async () => {
    const bad = { then: () => { throw new Error('bad then'); } };
    const awaited = (async () => {
      await runHook(part(() => bad), new HookRun(0, 'init', undefined));
    })();
    await expect(awaited).rejects.toThrow('bad then');
  });

  it('past its own timeout: aborts the signal and rejects with HookTimeoutError naming the hook', async () => {
    vi.useFakeTimers();
    let signal: AbortSignal | undefined;
    const result = runHook(part((ctx) => { signal = ctx.signal; return new Promise(() => {}); }, 100), new HookRun(0, 'init', undefined));
    const outcome = result!.then(() => 'resolved', (error: unknown) => error);
    await vi.advanceTimersByTimeAsync(100);
    const error = await outcome;
    expect(error).toBeInstanceOf(HookTimeoutError);
    expect((error as Error).message).toContain('Thing.start()');
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBe(error);
  });

  it('a parent abort reaches a signal read after it, but not once the result is known', async () => {
    const parent = new AbortController();
    const early = new HookRun(0, 'init', parent.signal);
    let resolveHook: () => void = () => {};
    const pending = runHook(part(() => new Promise<void>((resolve) => (resolveHook = resolve))), early);
    parent.abort('SIGTERM');
    expect(early.signal.aborted).toBe(true); // created lazily, after the abort
    expect(early.signal.reason).toBe('SIGTERM');
    resolveHook();
    await pending;
    HookRun.finish(early);

    const other = new AbortController();
    const done = new HookRun(0, 'init', other.signal);
    const signal = done.signal; // linked while the hook runs
    await runHook(part(() => Promise.resolve()), done);
    HookRun.finish(done); // what the caller does once the hook settled
    other.abort('late');
    expect(signal.aborted).toBe(false); // unlinked once it settled
  });
});

describe('synchronous init hooks in the container', () => {
  it('run dependencies first and complete without a promise; a failing one is reported and rolled back', async () => {
    const events: string[] = [];
    @injectable() class Db { @onInit() open() { events.push('Db.open'); } @onDestroy() close() { events.push('Db.close'); } }
    @injectable() class Repo { constructor(readonly db: Db) {} @onInit() ready() { events.push('Repo.ready'); } @onDestroy() close() { events.push('Repo.close'); } }
    @injectable() class Broken {
      constructor(readonly repo: Repo) {}
      @onInit() start() { events.push('Broken.start'); throw new Error('bad config'); }
      @onDestroy() stop() { events.push('Broken.stop (must not run)'); }
    }
    @Module({ providers: [Db, Repo] }) class GoodModule {}
    const app = await bootstrap(GoodModule, quiet);
    expect(events).toEqual(['Db.open', 'Repo.ready']);
    await app.close();
    events.length = 0;

    @Module({ providers: [Db, Repo, Broken] }) class AppModule {}
    const error = (await bootstrap(AppModule, quiet).catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe('QUIESCE_INIT_FAILED');
    expect(error.message).toBe('Startup failed in Broken in AppModule: bad config');
    expect(events).toEqual(['Db.open', 'Repo.ready', 'Broken.start', 'Repo.close', 'Db.close']);
  });
});
