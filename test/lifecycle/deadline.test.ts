import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HookTimeoutError } from '../../src/errors.js';
import { Deadline, assertTaskOrder, linkToParent, runWithTimeout, startTimer } from '../../src/lifecycle/deadline.js';
import { deferred, sleep } from '../support/async.js';


function track<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error: unknown) => Object.assign(state, { done: true, error }),
  );
  return state;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('runWithTimeout', () => {
  it('resolves with what fn returns, synchronously or not', async () => {
    await expect(runWithTimeout(() => 42, { label: 'sync' })).resolves.toBe(42);
    const later = runWithTimeout(async () => {
      await sleep(10);
      return 'later';
    }, { label: 'async', timeoutMs: 100 });
    await vi.advanceTimersByTimeAsync(10);
    await expect(later).resolves.toBe('later');
  });

  it('rejects as fn does, also when fn throws synchronously', async () => {
    const boom = new Error('boom');
    await expect(runWithTimeout(() => { throw boom; }, { label: 'sync' })).rejects.toBe(boom);
    await expect(runWithTimeout(() => Promise.reject(boom), { label: 'async' })).rejects.toBe(boom);
  });

  it('calls fn exactly once, synchronously', () => {
    const fn = vi.fn(() => undefined);
    void runWithTimeout(fn, { label: 'once' });
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('rejects with HookTimeoutError past timeoutMs and aborts the signal with it', async () => {
    let signal: AbortSignal | undefined;
    const result = track(runWithTimeout((s) => { signal = s; return new Promise(() => {}); }, { label: 'Pool.end()', timeoutMs: 100 }));
    await vi.advanceTimersByTimeAsync(99);
    expect(result.done).toBe(false);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(result.error).toBeInstanceOf(HookTimeoutError);
    expect(result.error).toMatchObject({ code: 'QUIESCE_HOOK_TIMEOUT', hook: 'Pool.end()', timeoutMs: 100 });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(result.error);
  });

  it('ignores what fn does after its timeout, without an unhandled rejection', async () => {
    const result = track(runWithTimeout(async () => { await sleep(200); throw new Error('late'); }, { label: 'late', timeoutMs: 100 }));
    await vi.advanceTimersByTimeAsync(300);
    expect(result.error).toBeInstanceOf(HookTimeoutError);
  });

  it('aborts the signal when the parent aborts, with its reason, but does not settle for fn', async () => {
    const parent = new AbortController();
    let signal: AbortSignal | undefined;
    const result = track(runWithTimeout(async (s) => { signal = s; await sleep(50); return 'done'; }, { label: 'p', parentSignal: parent.signal }));
    parent.abort('deadline');
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe('deadline');
    await vi.advanceTimersByTimeAsync(0);
    expect(result.done).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    expect(result.value).toBe('done');
  });

  it('hands fn an already aborted signal when the parent is already aborted', async () => {
    const parent = new AbortController();
    parent.abort('gone');
    const seen = await runWithTimeout((s) => s.aborted, { label: 'p', parentSignal: parent.signal });
    expect(seen).toBe(true);
  });

  it('leaves no timer and no parent listener behind once settled', async () => {
    const parent = new AbortController();
    const remove = vi.spyOn(parent.signal, 'removeEventListener');
    const result = runWithTimeout(() => sleep(10), { label: 'p', timeoutMs: 1_000, parentSignal: parent.signal });
    await vi.advanceTimersByTimeAsync(10);
    await result;
    expect(vi.getTimerCount()).toBe(0);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('has no timeout when timeoutMs is undefined, infinite or too long for setTimeout', async () => {
    for (const timeoutMs of [undefined, Infinity, 2 ** 31]) {
      const result = track(runWithTimeout(() => new Promise(() => {}), { label: 'p', timeoutMs }));
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(result.done).toBe(false);
    }
  });
});

describe('Deadline', () => {
  it('knows the time left and whether it has passed, on one clock', () => {
    let clock = 1_000;
    const deadline = new Deadline(100, () => clock);
    expect(deadline.at).toBe(1_100);
    expect(deadline.left()).toBe(100);
    expect(deadline.passed()).toBe(false);
    clock = 1_100;
    expect(deadline.passed()).toBe(true);
    clock = 1_500;
    expect(deadline.left()).toBe(0);
  });
});

describe('startTimer', () => {
  it('fires once after ms and can be cancelled', async () => {
    const fired = vi.fn();
    startTimer(10, fired);
    const cancel = startTimer(10, fired);
    cancel();
    await vi.advanceTimersByTimeAsync(10);
    expect(fired).toHaveBeenCalledTimes(1);
  });
});

describe('assertTaskOrder', () => {
  it('accepts tasks in topological order', () => {
    expect(() => assertTaskOrder([{ id: 'a', after: [] }, { id: 'b', after: ['a'] }], 'test')).not.toThrow();
  });

  it('rejects unknown ids, out-of-order ids, self references and duplicates', () => {
    expect(() => assertTaskOrder([{ id: 'a', after: ['ghost'] }], 'test')).toThrow(/unknown id 'ghost'/);
    expect(() => assertTaskOrder([{ id: 'a', after: ['b'] }, { id: 'b', after: [] }], 'test')).toThrow(/topological order/);
    expect(() => assertTaskOrder([{ id: 'a', after: ['a'] }], 'test')).toThrow(/topological order/);
    expect(() => assertTaskOrder([{ id: 'a', after: [] }, { id: 'a', after: [] }], 'test')).toThrow(/duplicate task id 'a'/);
  });
});

describe('linkToParent', () => {
  // Root cause (issue 13): each running hook added its own 'abort' listener to the one shared parent signal,
  // and EventTarget walks its listener list on each add, so N hooks ready at once cost O(N²) (20,000 init
  // or destroy hooks: seconds). The parent now gets one listener that fans out to a set of children.
  it('adds one listener to the parent however many hooks run at once, and removes it when the last one ends', async () => {
    const parent = new AbortController();
    const add = vi.spyOn(parent.signal, 'addEventListener');
    const remove = vi.spyOn(parent.signal, 'removeEventListener');
    const gates = Array.from({ length: 1_000 }, () => deferred());
    const runs = gates.map((gate, i) => runWithTimeout(() => gate.promise, { label: `hook ${i}`, parentSignal: parent.signal }));
    expect(add).toHaveBeenCalledTimes(1);
    for (const gate of gates) gate.resolve();
    await Promise.all(runs);
    expect(remove).toHaveBeenCalledTimes(1);
  });

  it('aborts every child still linked, with the parent reason, and none that unlinked', () => {
    const parent = new AbortController();
    const children = Array.from({ length: 3 }, () => new AbortController());
    const unlinks = children.map((child) => linkToParent(parent.signal, child));
    unlinks[1]!();
    parent.abort('deadline');
    expect(children.map((child) => child.signal.aborted)).toEqual([true, false, true]);
    expect(children[0]!.signal.reason).toBe('deadline');
    const late = new AbortController();
    linkToParent(parent.signal, late);
    expect(late.signal.reason).toBe('deadline'); // an already aborted parent aborts at once
  });
});
