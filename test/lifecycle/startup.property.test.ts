/**
 * Property: on random DAGs of init tasks that succeed, fail, hang or give up on abort, under a random
 * deadline and a random external abort, runStartup starts tasks only after their dependencies, lets the
 * first problem win, and hands back a `completed` list that is exactly what rollback must destroy.
 * Durations are even and abort times odd, so no completion ties with an abort.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StartupFailure, runStartup } from '../../src/lifecycle/startup.js';
import type { StartupTask } from '../../src/lifecycle/tasks.js';
import { sleep } from '../support/async.js';

type Behaviour =
  | { kind: 'ok'; ms: number } // ms 0: synchronous
  | { kind: 'fail'; ms: number } // ms 0: synchronous throw
  | { kind: 'hang' }
  | { kind: 'honoursAbort' }; // waits until its signal aborts, then rejects
interface TaskSpec {
  after: number[];
  behaviour: Behaviour;
}
interface Scenario {
  tasks: TaskSpec[];
  timeoutMs: number;
  abortAt?: number;
}

const NO_DEADLINE = 1_000_000;
const even = fc.integer({ min: 0, max: 30 }).map((n) => n * 2);
const behaviour = (faults: boolean): fc.Arbitrary<Behaviour> =>
  faults
    ? fc.oneof(
        { weight: 6, arbitrary: fc.record({ kind: fc.constant('ok' as const), ms: even }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), ms: even }) },
        { weight: 1, arbitrary: fc.constant({ kind: 'hang' as const }) },
        { weight: 1, arbitrary: fc.constant({ kind: 'honoursAbort' as const }) },
      )
    : fc.record({ kind: fc.constant('ok' as const), ms: even });

const dag = (faults: boolean): fc.Arbitrary<TaskSpec[]> =>
  fc.integer({ min: 1, max: 8 }).chain((n) =>
    fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.record({ after: fc.subarray(Array.from({ length: i }, (_, j) => j)), behaviour: behaviour(faults) }),
      ),
    ),
  );

const scenario = (faults: boolean): fc.Arbitrary<Scenario> =>
  fc.record(
    {
      tasks: dag(faults),
      timeoutMs: faults ? fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constant(NO_DEADLINE)) : fc.constant(NO_DEADLINE),
      abortAt: faults ? fc.integer({ min: 0, max: 150 }).map((n) => n * 2 + 1) : fc.constant(undefined),
    },
    { requiredKeys: faults ? ['tasks', 'timeoutMs'] : ['tasks', 'timeoutMs', 'abortAt'] },
  );

const id = (i: number) => `t${i}`;

interface Observed {
  runs: number;
  startedAt?: number;
  settledAt?: number;
  outcome?: 'ok' | 'failed';
}

async function execute(s: Scenario) {
  const t0 = Date.now();
  const now = () => Date.now() - t0;
  const seen: Observed[] = s.tasks.map(() => ({ runs: 0 }));
  const external = new AbortController();
  // Created before runStartup's own timers: at an equal time, the abort comes first.
  if (s.abortAt !== undefined) setTimeout(() => external.abort('SIGTERM'), s.abortAt);

  const tasks: StartupTask[] = s.tasks.map((spec, i) => ({
    id: id(i),
    name: `Task${i}`,
    after: spec.after.map(id),
    run: (signal) => {
      const o = seen[i]!;
      o.runs += 1;
      o.startedAt = now();
      const settle = (outcome: 'ok' | 'failed') => Object.assign(o, { outcome, settledAt: now() });
      const b = spec.behaviour;
      switch (b.kind) {
        case 'ok':
          if (b.ms === 0) return void settle('ok');
          return sleep(b.ms).then(() => void settle('ok'));
        case 'fail':
          if (b.ms === 0) throw (settle('failed'), new Error(`fail ${i}`));
          return sleep(b.ms).then(() => {
            settle('failed');
            throw new Error(`fail ${i}`);
          });
        case 'hang':
          return new Promise<void>(() => {});
        case 'honoursAbort':
          return new Promise<void>((_, reject) =>
            signal.addEventListener('abort', () => (settle('failed'), reject(new Error(`gave up ${i}`))), { once: true }),
          );
      }
    },
  }));

  const result: { value?: string[]; error?: unknown; at?: number } = {};
  runStartup(tasks, { timeoutMs: s.timeoutMs, signal: external.signal }).then(
    (value) => Object.assign(result, { value, at: now() }),
    (error: unknown) => Object.assign(result, { error, at: now() }),
  );
  await vi.advanceTimersByTimeAsync(Math.max(s.timeoutMs, s.abortAt ?? 0) + 1_000);
  if (result.at === undefined) throw new Error('runStartup did not settle');
  return { seen, result: result as { value?: string[]; error?: unknown; at: number } };
}

function criticalPath(tasks: TaskSpec[]): number {
  const ends: number[] = [];
  tasks.forEach((spec) => ends.push(Math.max(0, ...spec.after.map((j) => ends[j]!)) + (spec.behaviour.kind === 'ok' ? spec.behaviour.ms : 0)));
  return Math.max(0, ...ends);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('runStartup on random DAGs', () => {
  it('starts after dependencies, lets the first problem win, and reports exactly what completed', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(true), async (s) => {
        const { seen, result } = await execute(s);
        const R = result.at;
        const D = s.timeoutMs;

        // every task runs at most once, and only after all of its dependencies completed
        s.tasks.forEach((spec, i) => {
          const o = seen[i]!;
          expect(o.runs).toBeLessThanOrEqual(1);
          if (o.startedAt === undefined) return;
          for (const j of spec.after) {
            expect(seen[j]!.outcome).toBe('ok');
            expect(seen[j]!.settledAt).toBeLessThanOrEqual(o.startedAt);
          }
        });

        const allOk = s.tasks.every((t) => t.behaviour.kind === 'ok');
        const cp = criticalPath(s.tasks);
        const shouldResolve = allOk && cp < D && (s.abortAt === undefined || s.abortAt > cp);
        expect(result.error === undefined).toBe(shouldResolve);
        if (result.value) {
          expect(R).toBe(cp);
          expect([...result.value].sort()).toEqual(s.tasks.map((_, i) => id(i)).sort());
          const settled = result.value.map((tid) => seen[Number(tid.slice(1))]!.settledAt!);
          expect(settled).toEqual([...settled].sort((a, b) => a - b));
          return;
        }

        expect(result.error).toBeInstanceOf(StartupFailure);
        const f = result.error as StartupFailure;
        expect(R).toBeLessThanOrEqual(D);

        // completed: ok before the rejection, in completion order, dependencies first; nothing that failed or still runs
        const completedIdx = f.completed.map((tid) => Number(tid.slice(1)));
        for (const i of completedIdx) {
          expect(seen[i]!.outcome).toBe('ok');
          expect(seen[i]!.settledAt).toBeLessThanOrEqual(R);
        }
        seen.forEach((o, i) => {
          if (o.outcome === 'ok' && o.settledAt! < R) expect(f.completed).toContain(id(i));
        });
        completedIdx.forEach((i, k) => {
          for (const j of s.tasks[i]!.after) expect(completedIdx.indexOf(j)).toBeLessThan(k);
          if (k > 0) expect(seen[i]!.settledAt).toBeGreaterThanOrEqual(seen[completedIdx[k - 1]!]!.settledAt!);
        });
        expect(new Set(f.completed).size).toBe(f.completed.length);

        // the first problem wins: a failure, the abort, or the deadline, whichever came first
        const failures = seen.filter((o) => o.outcome === 'failed' && s.tasks[seen.indexOf(o)]!.behaviour.kind === 'fail');
        const firstFailure = Math.min(Infinity, ...failures.map((o) => o.settledAt!));
        const abortAt = s.abortAt ?? Infinity;
        const first = Math.min(firstFailure, abortAt, D);
        // At an equal time the abort fires first (its timer is the oldest), then the deadline, then tasks.
        const expectedKind = abortAt <= D && abortAt < firstFailure ? 'aborted' : firstFailure < D ? 'failed' : 'timeout';
        expect(f.kind).toBe(expectedKind);
        if (expectedKind === 'failed') {
          expect(f.kind).toBe('failed');
          expect(seen[Number(f.taskId!.slice(1))]!.settledAt).toBe(firstFailure);
          expect(f.cause).toBeInstanceOf(Error);
          expect((f.cause as Error).message).toBe(`fail ${f.taskId!.slice(1)}`);
        } else if (expectedKind === 'aborted') {
          expect(f).toMatchObject({ kind: 'aborted', cause: 'SIGTERM' });
        } else {
          expect(f.kind).toBe('timeout');
          expect(R).toBe(D);
          const named = seen[Number(f.taskId!.slice(1))]!;
          expect(named.startedAt).toBeLessThan(D);
          expect(named.settledAt === undefined || named.settledAt >= D).toBe(true);
        }

        // nothing starts after the first problem; before the deadline, running tasks are waited for
        for (const o of seen) if (o.startedAt !== undefined) expect(o.startedAt).toBeLessThanOrEqual(first);
        if (f.kind !== 'timeout' && R < D) {
          for (const o of seen) if (o.startedAt !== undefined) expect(o.settledAt).toBeLessThanOrEqual(R);
        }
        expect(vi.getTimerCount()).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('takes exactly the critical path and completes dependencies first when nothing goes wrong', async () => {
    await fc.assert(
      fc.asyncProperty(scenario(false), async (s) => {
        const { result } = await execute(s);
        expect(result.at).toBe(criticalPath(s.tasks));
        const order = result.value!;
        s.tasks.forEach((spec, i) => {
          for (const j of spec.after) expect(order.indexOf(id(j))).toBeLessThan(order.indexOf(id(i)));
        });
        expect(vi.getTimerCount()).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
