import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HookTimeoutError } from '../../src/errors.js';
import { Deadline } from '../../src/lifecycle/deadline.js';
import { runShutdown, type ShutdownOptions } from '../../src/lifecycle/shutdown.js';
import type { ShutdownTask, StepPart } from '../../src/lifecycle/tasks.js';
import type { DestroyContext, ShutdownReport, ShutdownStep } from '../../src/types.js';
import { hang, sleep } from '../support/async.js';


function part(label: string, run: StepPart['run'], timeout?: number): StepPart {
  return { label, run, timeout };
}
/** A part that takes `ms` of (fake) time. */
const takes = (ms: number, label = `takes ${ms}`) => part(label, () => sleep(ms));
const fails = (message: string, label = 'fails') => part(label, () => Promise.reject(new Error(message)));

function task(id: string, after: string[], ...parts: StepPart[]): ShutdownTask {
  return { id, name: id, kind: 'destroy', after, parts };
}

/** What a test varies: the budget and clock become the run's Deadline, created here as shutdown starts. */
type Overrides = Partial<Omit<ShutdownOptions, 'deadline'>> & { timeoutMs?: number; now?: () => number };

function options(overrides: Overrides = {}): ShutdownOptions {
  const { timeoutMs = 10_000, now, ...rest } = overrides;
  return { reason: 'test', deadline: new Deadline(timeoutMs, now), concurrency: 'graph', ...rest };
}

/** Starts a shutdown and lets `advanceMs` of fake time pass; the report must be there by then. */
async function shutdown(tasks: ShutdownTask[], overrides: Overrides = {}, advanceMs = 20_000): Promise<ShutdownReport> {
  const run = track(runShutdown(tasks, options(overrides)));
  await vi.advanceTimersByTimeAsync(advanceMs);
  expect(run.done, 'the shutdown should have finished').toBe(true);
  expect(run.error).toBeUndefined();
  return run.value!;
}

function track<T>(promise: Promise<T>) {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  promise.then(
    (value) => Object.assign(state, { done: true, value }),
    (error: unknown) => Object.assign(state, { done: true, error }),
  );
  return state;
}

function step(report: ShutdownReport, id: string): ShutdownStep {
  const found = report.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step ${id} in the report`);
  return found;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('runShutdown: order and concurrency', () => {
  it('destroys a provider only after everything that depends on it has finished', async () => {
    // api and worker depend on db: db's step waits for both.
    const report = await shutdown([task('api', [], takes(30)), task('worker', [], takes(50)), task('db', ['api', 'worker'], takes(10))]);
    expect(step(report, 'api')).toMatchObject({ status: 'ok', startMs: 0, endMs: 30 });
    expect(step(report, 'worker')).toMatchObject({ status: 'ok', startMs: 0, endMs: 50 });
    expect(step(report, 'db')).toMatchObject({ status: 'ok', startMs: 50, endMs: 60 });
    expect(report).toMatchObject({ ok: true, reason: 'test', durationMs: 60 });
  });

  it('starts a step the moment its own dependents are done, with no level barrier', async () => {
    const report = await shutdown([
      task('slow', [], takes(100)),
      task('fast', [], takes(10)),
      task('slowDep', ['slow'], takes(10)),
      task('fastDep', ['fast'], takes(10)),
    ]);
    expect(step(report, 'fastDep')).toMatchObject({ startMs: 10, endMs: 20 });
    expect(step(report, 'slowDep')).toMatchObject({ startMs: 100, endMs: 110 });
  });

  it('takes the critical path, not the sum of the steps, in graph mode', async () => {
    // a(100) -> c(50) is the critical path (150); b(30) -> d(30) -> e(30) runs beside it. Sum: 240.
    const tasks = [
      task('a', [], takes(100)),
      task('b', [], takes(30)),
      task('c', ['a'], takes(50)),
      task('d', ['b'], takes(30)),
      task('e', ['d'], takes(30)),
    ];
    const report = await shutdown(tasks);
    expect(report.durationMs).toBe(150);
  });

  it('runs one step at a time in array order in sequential mode', async () => {
    const tasks = [task('a', [], takes(100)), task('b', [], takes(30)), task('c', ['a'], takes(50))];
    const report = await shutdown(tasks, { concurrency: 'sequential' });
    expect(report.steps.map((s) => [s.id, s.startMs, s.endMs])).toEqual([
      ['a', 0, 100],
      ['b', 100, 130],
      ['c', 130, 180],
    ]);
    expect(report.durationMs).toBe(180);
  });

  it('lists the steps in start order', async () => {
    const report = await shutdown([task('a', [], takes(50)), task('b', ['a'], takes(10)), task('c', [], takes(10)), task('d', ['c'], takes(10))]);
    expect(report.steps.map((s) => s.id)).toEqual(['a', 'c', 'd', 'b']);
  });

  it('resolves at once with ok for an empty task list', async () => {
    await expect(runShutdown([], options())).resolves.toEqual({ reason: 'test', ok: true, durationMs: 0, steps: [] });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects unknown or out-of-order ids in after: a programming error', async () => {
    await expect(runShutdown([task('a', ['ghost'])], options())).rejects.toThrow(/unknown id 'ghost'/);
    await expect(runShutdown([task('a', ['b']), task('b', [])], options())).rejects.toThrow(/topological order/);
  });
});

describe('runShutdown: the parts of a step', () => {
  it('runs the parts one after the other, each once, with the DestroyContext', async () => {
    const start = Date.now();
    const seen: [string, number, DestroyContext][] = [];
    const record = (label: string, ms: number) =>
      part(label, async (ctx) => {
        seen.push([label, Date.now() - start, ctx]);
        if (ms > 0) await sleep(ms); // setTimeout(0) takes 1 ms, as in Node
      });
    const report = await shutdown([task('svc', [], record('stop()', 20), record('asyncDispose', 30), record('dispose', 0))], {
      reason: 'SIGTERM',
      timeoutMs: 1_000,
    });
    expect(seen.map(([label, at]) => [label, at])).toEqual([['stop()', 0], ['asyncDispose', 20], ['dispose', 50]]);
    for (const [, , ctx] of seen) {
      expect(ctx.reason).toBe('SIGTERM');
      expect(ctx.deadline).toBe(start + 1_000);
      expect(ctx.signal.aborted).toBe(false);
    }
    expect(step(report, 'svc')).toMatchObject({ status: 'ok', startMs: 0, endMs: 50 });
  });

  it('supports synchronous parts, returning or throwing', async () => {
    const syncOk = vi.fn(() => 'done');
    const syncThrow = vi.fn(() => {
      throw new Error('sync boom');
    });
    const report = await shutdown([task('a', [], part('ok', syncOk)), task('b', [], part('throws', syncThrow), part('ok', syncOk))]);
    expect(syncOk).toHaveBeenCalledTimes(2);
    expect(syncThrow).toHaveBeenCalledTimes(1);
    expect(step(report, 'a').status).toBe('ok');
    expect(step(report, 'b')).toMatchObject({ status: 'failed', error: 'sync boom' });
  });

  it('keeps going after a failing onDestroy and reports every failure', async () => {
    const afterFailure = vi.fn();
    const report = await shutdown([
      task('a', [], fails('a broke'), part('still runs', afterFailure)),
      task('b', [], takes(10), fails('b broke')),
      task('db', ['a', 'b'], takes(5)),
    ]);
    expect(afterFailure).toHaveBeenCalledTimes(1);
    expect(step(report, 'a')).toMatchObject({ status: 'failed', error: 'a broke' });
    expect(step(report, 'b')).toMatchObject({ status: 'failed', error: 'b broke' });
    expect(step(report, 'db')).toMatchObject({ status: 'ok', startMs: 10, endMs: 15 });
    expect(report.ok).toBe(false);
  });

  it('never rejects because of what a part throws', async () => {
    const report = await shutdown([
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point: user code rejects with a non-Error
      task('a', [], part('string', () => Promise.reject('just a string'))),
      task('b', [], part('undefined', () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: user code throws a non-Error
        throw undefined;
      })),
    ]);
    expect(step(report, 'a')).toMatchObject({ status: 'failed', error: 'just a string' });
    expect(step(report, 'b')).toMatchObject({ status: 'failed', error: 'undefined' });
  });

  it("times out a part past its own timeout, aborts its signal, and still runs the step's other parts", async () => {
    let signal: AbortSignal | undefined;
    const next = vi.fn(() => sleep(20));
    const run = track(
      runShutdown(
        [task('svc', [], part('Svc.stop()', (ctx) => ((signal = ctx.signal), hang()), 100), part('Svc dispose()', next))],
        options(),
      ),
    );
    await vi.advanceTimersByTimeAsync(99);
    expect(signal?.aborted).toBe(false);
    expect(next).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(HookTimeoutError);
    expect(next).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(step(run.value!, 'svc')).toMatchObject({ status: 'timeout', startMs: 0, endMs: 120 });
    expect(step(run.value!, 'svc').error).toMatch(/Svc\.stop\(\) did not finish within 100 ms/);
  });

  it('reports the first non-ok status of a step, with its error', async () => {
    const report = await shutdown([
      task('timeoutFirst', [], part('hangs', hang, 20), fails('then fails')),
      task('failureFirst', [], fails('fails first'), part('hangs', hang, 20)),
    ]);
    expect(step(report, 'timeoutFirst')).toMatchObject({ status: 'timeout', endMs: 20 });
    expect(step(report, 'timeoutFirst').error).toMatch(/hangs did not finish within 20 ms/);
    expect(step(report, 'failureFirst')).toMatchObject({ status: 'failed', error: 'fails first', endMs: 20 });
  });

  it('counts a step past its budget as finished: its dependency does not wait for it', async () => {
    const report = await shutdown([task('stuck', [], part('hangs', hang, 50)), task('db', ['stuck'], takes(10))]);
    expect(step(report, 'stuck')).toMatchObject({ status: 'timeout', endMs: 50 });
    expect(step(report, 'db')).toMatchObject({ status: 'ok', startMs: 50, endMs: 60 });
  });

  it('reports a part that throws HookTimeoutError itself (the HTTP drain) as timeout', async () => {
    const drain = part('http drain', async () => {
      await sleep(30);
      throw new HookTimeoutError('http drain', 30);
    });
    const report = await shutdown([{ id: 'http', name: 'http', kind: 'http', after: [], parts: [drain] }]);
    expect(report.steps[0]).toMatchObject({ id: 'http', kind: 'http', status: 'timeout', startMs: 0, endMs: 30 });
    expect(report.steps[0]?.error).toMatch(/http drain did not finish within 30 ms/);
  });

  it("caps a part's own timeout at the time left to the global deadline", async () => {
    let signal: AbortSignal | undefined;
    const report = await shutdown([task('a', [], part('slow', (ctx) => ((signal = ctx.signal), hang()), 5_000))], { timeoutMs: 100 }, 100);
    expect(signal?.aborted).toBe(true);
    expect(step(report, 'a')).toMatchObject({ status: 'timeout', endMs: 100 });
    expect(step(report, 'a').error).toMatch(/slow did not finish within 100 ms/);
  });
});

describe('runShutdown: the global deadline', () => {
  it('reports running steps as timeout and unstarted ones as skipped, and resolves at once', async () => {
    let signal: AbortSignal | undefined;
    const run = track(
      runShutdown(
        [task('stuck', [], part('Stuck.stop()', (ctx) => ((signal = ctx.signal), hang()))), task('db', ['stuck'], takes(1)), task('quick', [], takes(10))],
        options({ timeoutMs: 100 }),
      ),
    );
    await vi.advanceTimersByTimeAsync(99);
    expect(run.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(run.done).toBe(true);
    expect(signal?.aborted).toBe(true);
    const report = run.value!;
    expect(report.steps.map((s) => [s.id, s.status, s.startMs, s.endMs])).toEqual([
      ['stuck', 'timeout', 0, 100],
      ['quick', 'ok', 0, 10],
      ['db', 'skipped', -1, -1],
    ]);
    expect(report).toMatchObject({ ok: false, durationMs: 100 });
    expect(step(report, 'stuck').error).toMatch(/Stuck\.stop\(\) did not finish within 100 ms/);
  });

  it('ignores completions after the deadline and runs no further part of a cut-off step', async () => {
    const laterPart = vi.fn();
    const run = track(runShutdown([task('a', [], takes(200), part('later', laterPart))], options({ timeoutMs: 100 })));
    await vi.advanceTimersByTimeAsync(100);
    const snapshot = structuredClone(run.value);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(laterPart).not.toHaveBeenCalled();
    expect(run.value).toEqual(snapshot);
    expect(step(run.value!, 'a')).toMatchObject({ status: 'timeout', endMs: 100 });
  });

  it('leaves no timer behind once it resolved', async () => {
    await shutdown([task('a', [], takes(10), part('t', () => sleep(5), 1_000))], { timeoutMs: 60_000 }, 15);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('skips every step when there is no time left at all', async () => {
    const never = vi.fn();
    const report = await shutdown([task('a', [], part('p', never)), task('b', ['a'], part('p', never))], { timeoutMs: 0 }, 0);
    expect(never).not.toHaveBeenCalled();
    expect(report.steps.map((s) => s.status)).toEqual(['skipped', 'skipped']);
    expect(report.ok).toBe(false);
  });

  // Root cause (prototype): a step's own timeout and the global deadline fired in the same tick; the
  // step timeout ran first, "finished" the step, started its dependency, and the deadline then reported
  // that dependency as 'timeout' although it never did any work. Now every event asks Deadline.passed().
  describe('a step timeout and the global deadline in the same tick', () => {
    it('reports the step timeout and skips its dependency when the part timeout equals the time left', async () => {
      const never = vi.fn();
      const report = await shutdown([task('a', [], part('hangs', hang, 100)), task('b', ['a'], part('p', never))], { timeoutMs: 100 }, 100);
      expect(never).not.toHaveBeenCalled();
      expect(report.steps.map((s) => [s.id, s.status, s.endMs])).toEqual([
        ['a', 'timeout', 100],
        ['b', 'skipped', -1],
      ]);
    });

    it('skips the dependency when a step ends exactly on the deadline', async () => {
      const never = vi.fn();
      const report = await shutdown(
        [task('a', [], part('hangs', hang, 60), takes(40)), task('b', ['a'], part('p', never))],
        { timeoutMs: 100 },
        100,
      );
      expect(never).not.toHaveBeenCalled();
      expect(report.steps.map((s) => [s.id, s.status, s.endMs])).toEqual([
        ['a', 'timeout', 100],
        ['b', 'skipped', -1],
      ]);
    });

    it('lets the deadline decide when a step timer fires late, after the deadline (a blocked event loop)', async () => {
      let clock = 0;
      const never = vi.fn();
      const run = track(
        runShutdown([task('a', [], part('hangs', hang, 50)), task('b', ['a'], part('p', never))], options({ timeoutMs: 100, now: () => clock })),
      );
      clock = 150; // the loop was blocked: when the 50 ms timer runs, the 100 ms deadline is long gone
      await vi.advanceTimersByTimeAsync(50);
      expect(run.done).toBe(true);
      expect(never).not.toHaveBeenCalled();
      expect(run.value!.steps.map((s) => [s.id, s.status, s.endMs])).toEqual([
        ['a', 'timeout', 100],
        ['b', 'skipped', -1],
      ]);
      expect(vi.getTimerCount()).toBe(0);
    });
  });
});

describe('runShutdown: step times', () => {
  it('reports times from the shutdown start exactly, on an epoch clock and on a fractional one', async () => {
    // times are kept as small integers when they are ones (no boxed number per step): the values must not change
    for (const [start, tick] of [[1_764_000_000_000, 7], [1000.25, 0.5]] as const) {
      let clock = start;
      const report = await shutdown(
        [task('a', [], part('a', () => void (clock += tick))), task('b', ['a'], part('b', () => void (clock += tick)))],
        { now: () => clock },
      );
      expect(report.steps.map((s) => [s.id, s.startMs, s.endMs])).toEqual([
        ['a', 0, tick],
        ['b', tick, 2 * tick],
      ]);
      expect(report.durationMs).toBe(2 * tick);
    }
  });
});

describe('runShutdown: logging', () => {
  it('logs the start, each failed or timed-out step, and a summary, as structured lines', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    await shutdown(
      [task('ok', [], takes(5)), task('broken', [], fails('boom')), task('stuck', [], part('hangs', hang, 20)), task('last', ['stuck'], takes(1))],
      { logger, reason: 'SIGTERM', timeoutMs: 1_000 },
    );
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({ level: 30, msg: 'shutdown started', reason: 'SIGTERM', steps: 4 });
    expect(lines[1]).toMatchObject({ level: 50, msg: 'shutdown step failed', step: 'broken', status: 'failed', ms: 0, error: 'boom' });
    expect(lines[2]).toMatchObject({ level: 40, msg: 'shutdown step timed out', step: 'stuck', status: 'timeout', ms: 20 });
    expect(lines[3]).toMatchObject({
      level: 40,
      ok: false,
      durationMs: 21,
      counts: { ok: 2, failed: 1, timeout: 1, skipped: 0 },
    });
  });

  it('logs an info summary when every step is ok', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    await shutdown([task('ok', [], takes(5))], { logger });
    expect(lines.map((l) => l.level)).toEqual([30, 30]);
    expect(lines[1]).toMatchObject({ ok: true, durationMs: 5, counts: { ok: 1, failed: 0, timeout: 0, skipped: 0 } });
  });
});

describe('runShutdown: hostile thrown values and cost', () => {
  // Root cause (issue 10 item 3): a step's failure was described with String(error) inside the step's own
  // async function; for Object.create(null), or an object whose toString throws, that threw again, the
  // step's promise rejected unobserved (fire-and-forget), and the step never ended: close() waited for the
  // deadline and reported a timeout. The scheduler now describes failures with a describe that cannot throw,
  // and every promise it makes has both handlers.
  it('ends a step whatever a part throws, even a value String() cannot convert', async () => {
    const noPrototype = Object.create(null) as object;
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    const report = await shutdown(
      [
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: user code throws a non-Error
        task('syncNull', [], part('throws null-prototype', () => { throw noPrototype; })),
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point: user code rejects with a non-Error
        task('asyncHostile', [], part('rejects hostile', () => Promise.reject(hostile))),
        task('db', ['syncNull', 'asyncHostile'], part('ok', () => undefined)),
      ],
      {},
      0,
    );
    expect(step(report, 'syncNull')).toMatchObject({ status: 'failed', error: expect.any(String) });
    expect(step(report, 'asyncHostile')).toMatchObject({ status: 'failed', error: expect.any(String) });
    expect(step(report, 'db').status).toBe('ok');
  });

  it('ends a step whose part returns a thenable whose then throws', async () => {
    const report = await shutdown([task('a', [], part('bad thenable', () => ({ then() { throw new Error('then broke'); } })))], {}, 0);
    expect(step(report, 'a')).toMatchObject({ status: 'failed', error: 'then broke' });
  });

  // Root cause (issue 13): every request scope ran the whole machinery (a timer, an AbortController per part,
  // a promise chain) although its parts return at once. Parts that return without a promise now finish
  // inside runShutdown: nothing is scheduled, and no signal exists unless a part reads ctx.signal.
  it('runs a plan of synchronous parts to the end inside the call, with no timer', async () => {
    const order: string[] = [];
    const run = track(
      runShutdown(
        [
          task('handler', [], part('handler', () => void order.push('handler'))),
          task('tx', ['handler'], part('tx', () => void order.push('tx')), part('tx dispose', () => void order.push('tx dispose'))),
        ],
        options(),
      ),
    );
    expect(order).toEqual(['handler', 'tx', 'tx dispose']);
    expect(vi.getTimerCount()).toBe(0);
    await Promise.resolve();
    expect(run.done).toBe(true);
    expect(run.value!.steps.map((s) => [s.id, s.status])).toEqual([['handler', 'ok'], ['tx', 'ok']]);
  });

  it('gives a part that reads ctx.signal a live signal, aborted at the deadline even if created late', async () => {
    let ctxSeen: DestroyContext | undefined;
    const run = track(runShutdown([task('a', [], part('hangs', (ctx) => ((ctxSeen = ctx), hang())))], options({ timeoutMs: 100 })));
    await vi.advanceTimersByTimeAsync(100);
    expect(run.done).toBe(true);
    expect(ctxSeen!.signal.aborted).toBe(true); // read only now, after the deadline cut the part off
    expect(ctxSeen!.signal.reason).toBeInstanceOf(HookTimeoutError);
  });

  it('keeps a long chain of synchronous steps off the stack', async () => {
    const tasks = Array.from({ length: 10_000 }, (_, i) => task(`s${i}`, i === 0 ? [] : [`s${i - 1}`], part('noop', () => undefined)));
    const report = await shutdown(tasks, {}, 0);
    expect(report.ok).toBe(true);
    expect(report.steps).toHaveLength(10_000);
  });

  it('does not report relay tasks, but orders through them', async () => {
    const order: string[] = [];
    const report = await shutdown([
      task('handler', [], part('handler', async () => { await sleep(10); order.push('handler'); })),
      { id: 'repo', name: 'repo', kind: 'destroy', after: ['handler'], parts: [], relay: true },
      task('tx', ['repo'], part('tx', () => void order.push('tx'))),
    ]);
    expect(order).toEqual(['handler', 'tx']);
    expect(report.steps.map((s) => s.id)).toEqual(['handler', 'tx']);
    expect(step(report, 'tx').startMs).toBe(10);
  });
});
