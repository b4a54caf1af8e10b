import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StartupTimeoutError } from '../../src/errors.js';
import { StartupFailure, runStartup, type StartupOptions } from '../../src/lifecycle/startup.js';
import type { StartupTask } from '../../src/lifecycle/tasks.js';
import { hang, sleep } from '../support/async.js';


let startedAt: Record<string, number>;
let signals: Record<string, AbortSignal>;
let t0: number;

/** A task that records when it started and the signal it got, then runs `body`. */
function task(id: string, after: string[], body: (signal: AbortSignal) => Promise<void> | void = () => {}): StartupTask {
  return {
    id,
    name: `${id.toUpperCase()}Service`,
    after,
    run: (signal) => {
      if (id in startedAt) throw new Error(`${id} started twice`);
      startedAt[id] = Date.now() - t0;
      signals[id] = signal;
      return body(signal);
    },
  };
}
const takes = (ms: number) => () => sleep(ms);
const failsAfter = (ms: number, error: Error) => async () => {
  await sleep(ms);
  throw error;
};

function track<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown; at?: number } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value, at: Date.now() - t0 }),
    (error: unknown) => Object.assign(state, { done: true, error, at: Date.now() - t0 }),
  );
  return state;
}

function start(tasks: StartupTask[], options: Partial<StartupOptions> = {}) {
  return track(runStartup(tasks, { timeoutMs: 10_000, ...options }));
}

function failure(run: { error?: unknown }): StartupFailure {
  expect(run.error).toBeInstanceOf(StartupFailure);
  return run.error as StartupFailure;
}

beforeEach(() => {
  vi.useFakeTimers();
  startedAt = {};
  signals = {};
  t0 = Date.now();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('runStartup: order and concurrency', () => {
  it('starts a task only after all its dependencies completed, and resolves with ids in completion order', async () => {
    const run = start([
      task('db', [], takes(30)),
      task('cache', [], takes(10)),
      task('repo', ['db'], takes(10)),
      task('api', ['repo', 'cache'], takes(5)),
    ]);
    await vi.advanceTimersByTimeAsync(45);
    expect(startedAt).toEqual({ db: 0, cache: 0, repo: 30, api: 40 });
    expect(run).toMatchObject({ done: true, value: ['cache', 'db', 'repo', 'api'], at: 45 });
  });

  it('runs independent tasks concurrently: the total is the longest, not the sum', async () => {
    const run = start([task('a', [], takes(100)), task('b', [], takes(100)), task('c', [], takes(100))]);
    await vi.advanceTimersByTimeAsync(100);
    expect(run).toMatchObject({ done: true, at: 100 });
  });

  it('supports synchronous tasks', async () => {
    const run = start([task('a', []), task('b', ['a'])]);
    await vi.advanceTimersByTimeAsync(0);
    expect(run.value).toEqual(['a', 'b']);
  });

  it('resolves at once with no tasks', async () => {
    await expect(runStartup([], { timeoutMs: 100 })).resolves.toEqual([]);
  });

  it('leaves no timer and no abort listener behind once it resolved', async () => {
    const external = new AbortController();
    const remove = vi.spyOn(external.signal, 'removeEventListener');
    const run = start([task('a', [], takes(10))], { signal: external.signal });
    await vi.advanceTimersByTimeAsync(10);
    expect(run.value).toEqual(['a']);
    expect(vi.getTimerCount()).toBe(0);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('runs synchronous tasks depth first from each root, so the creation order (which destroy reverses) is stable', async () => {
    const events: string[] = [];
    const sync = (id: string, after: string[]): StartupTask => ({ id, name: id, after, run: () => void events.push(id) });
    const ids = await runStartup([sync('A', []), sync('B', []), sync('C', ['A']), sync('D', ['C']), sync('E', ['B', 'D'])], { timeoutMs: 100 });
    expect(events).toEqual(['A', 'C', 'D', 'B', 'E']);
    expect(ids).toEqual(events);
  });

  it('rejects unknown or out-of-order ids in after: a programming error', async () => {
    await expect(runStartup([task('a', ['ghost'])], { timeoutMs: 100 })).rejects.toThrow(/unknown id 'ghost'/);
    await expect(runStartup([task('a', ['b']), task('b', [])], { timeoutMs: 100 })).rejects.toThrow(/topological order/);
  });
});

describe('runStartup: a failing task', () => {
  // Root cause (prototype): init hooks ran under a naive Promise.allSettled, so a failure was only
  // looked at once everything settled, and a slow sibling that succeeded let startup resolve.
  it('lets the first failure win over a slow sibling that succeeds, and waits for it so it gets rolled back', async () => {
    const broken = new Error('connection refused');
    const run = start([
      task('db', [], failsAfter(10, broken)),
      task('cache', [], takes(100)),
      task('repo', ['db'], takes(1)),
      task('worker', ['cache'], takes(1)),
    ]);
    await vi.advanceTimersByTimeAsync(99);
    expect(run.done).toBe(false);
    expect(signals.cache?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = failure(run);
    expect(run.at).toBe(100);
    expect(error).toMatchObject({ kind: 'failed', taskId: 'db', taskName: 'DBService', completed: ['cache'] });
    expect(error.cause).toBe(broken);
    expect(error.message).toMatch(/DBService.*connection refused/);
    expect(Object.keys(startedAt)).toEqual(['db', 'cache']); // nothing new starts after a failure
  });

  it('keeps the first failure as the cause when a sibling fails later', async () => {
    const first = new Error('first');
    const run = start([task('a', [], failsAfter(10, first)), task('b', [], failsAfter(20, new Error('second')))]);
    await vi.advanceTimersByTimeAsync(20);
    expect(failure(run)).toMatchObject({ kind: 'failed', taskId: 'a', cause: first, completed: [] });
  });

  it('fails on a synchronous throw', async () => {
    const run = start([task('a', [], () => {
      throw new Error('sync');
    }), task('b', ['a'])]);
    await vi.advanceTimersByTimeAsync(0);
    expect(failure(run)).toMatchObject({ kind: 'failed', taskId: 'a', completed: [] });
    expect(startedAt).not.toHaveProperty('b');
  });

  it('waits for running siblings no longer than the startup deadline, then aborts them', async () => {
    const run = start([task('a', [], failsAfter(10, new Error('boom'))), task('stuck', [], hang)], { timeoutMs: 1_000 });
    await vi.advanceTimersByTimeAsync(999);
    expect(run.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(failure(run)).toMatchObject({ kind: 'failed', taskId: 'a', completed: [] });
    expect(signals.stuck?.aborted).toBe(true);
  });
});

describe('runStartup: the startup deadline', () => {
  it('aborts the task signal and rejects at once, naming the first-started task still running', async () => {
    const run = start([task('a', [], takes(10)), task('stuck', [], hang), task('late', ['a'], takes(1_000))], { timeoutMs: 500 });
    await vi.advanceTimersByTimeAsync(499);
    expect(run.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = failure(run);
    expect(run.at).toBe(500);
    expect(error).toMatchObject({ kind: 'timeout', taskId: 'stuck', taskName: 'STUCKService', completed: ['a'] });
    expect(error.message).toMatch(/within 500 ms.*STUCKService/);
    expect(signals.stuck?.aborted).toBe(true);
    expect(signals.stuck?.reason).toBeInstanceOf(StartupTimeoutError);

    // 'late' completes after the rejection: it is not in completed (its aborted signal is its cue).
    await vi.advanceTimersByTimeAsync(1_000);
    expect(error.completed).toEqual(['a']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('treats a completion seen after the deadline (a late timer) as a timeout, and lists it as completed', async () => {
    let clock = 0;
    const run = start([task('a', [], takes(10))], { timeoutMs: 50, now: () => clock });
    clock = 100; // the event loop was blocked past the deadline; 'a' settles before the deadline timer runs
    await vi.advanceTimersByTimeAsync(10);
    expect(failure(run)).toMatchObject({ kind: 'timeout', taskId: 'a', completed: ['a'] });
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('runStartup: an external abort (a signal during startup)', () => {
  it('aborts the task signal, starts nothing new, waits for running tasks, then rejects as aborted', async () => {
    const external = new AbortController();
    const run = start([task('a', [], takes(10)), task('b', [], takes(100)), task('c', ['a'], takes(1))], { signal: external.signal });
    await vi.advanceTimersByTimeAsync(5);
    external.abort('SIGTERM');
    expect(signals.a?.aborted).toBe(true);
    expect(signals.a?.reason).toBe('SIGTERM');
    await vi.advanceTimersByTimeAsync(94);
    expect(run.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = failure(run);
    expect(error).toMatchObject({ kind: 'aborted', cause: 'SIGTERM', completed: ['a', 'b'] });
    expect(error.message).toBe('Startup aborted: SIGTERM');
    expect(startedAt).not.toHaveProperty('c');
  });

  it('leaves out of completed the tasks that gave up on the abort', async () => {
    const external = new AbortController();
    const honoursAbort = (signal: AbortSignal) =>
      new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    const run = start([task('a', [], takes(1)), task('connect', [], honoursAbort)], { signal: external.signal });
    await vi.advanceTimersByTimeAsync(1);
    external.abort('SIGINT');
    await vi.advanceTimersByTimeAsync(0);
    expect(failure(run)).toMatchObject({ kind: 'aborted', taskId: 'connect', completed: ['a'] });
  });

  it('waits for running tasks no longer than the startup deadline', async () => {
    const external = new AbortController();
    const run = start([task('stuck', [], hang)], { signal: external.signal, timeoutMs: 300 });
    await vi.advanceTimersByTimeAsync(10);
    external.abort('SIGTERM');
    await vi.advanceTimersByTimeAsync(289);
    expect(run.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(failure(run)).toMatchObject({ kind: 'aborted', taskId: 'stuck', completed: [] });
  });

  it('waits for running tasks no longer than abortGraceMs, so rollback gets its turn before the signal deadline', async () => {
    const external = new AbortController();
    const run = start([task('a', [], takes(1)), task('stuck', ['a'], hang)], { signal: external.signal, timeoutMs: 30_000, abortGraceMs: 200 });
    await vi.advanceTimersByTimeAsync(10);
    external.abort('SIGTERM');
    await vi.advanceTimersByTimeAsync(199);
    expect(run.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(failure(run)).toMatchObject({ kind: 'aborted', taskId: 'stuck', completed: ['a'] });
  });

  it('keeps a failure that came first as the cause', async () => {
    const external = new AbortController();
    const broken = new Error('broken');
    const run = start([task('a', [], failsAfter(5, broken)), task('b', [], takes(50))], { signal: external.signal });
    await vi.advanceTimersByTimeAsync(10);
    external.abort('SIGTERM');
    expect(signals.b?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(40);
    expect(failure(run)).toMatchObject({ kind: 'failed', taskId: 'a', cause: broken, completed: ['b'] });
  });

  it('rejects at once and starts nothing when the signal is already aborted', async () => {
    const external = new AbortController();
    external.abort('SIGTERM');
    const run = start([task('a', [])], { signal: external.signal });
    await vi.advanceTimersByTimeAsync(0);
    expect(failure(run)).toMatchObject({ kind: 'aborted', completed: [] });
    expect(startedAt).toEqual({});
    expect(vi.getTimerCount()).toBe(0);
  });
});
