/**
 * Property: on random DAGs of steps whose parts succeed, throw, hang or report their own timeout,
 * the shutdown report agrees with what happened and with a small reference model of the timing.
 * Fake timers make every run deterministic. Ties between a part's natural duration and its own
 * timeout are excluded by construction (durations even, timeouts odd); a step that ends exactly on
 * the global deadline is deterministic by design (the deadline wins).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HookTimeoutError } from '../../src/errors.js';
import { Deadline } from '../../src/lifecycle/deadline.js';
import { runShutdown } from '../../src/lifecycle/shutdown.js';
import type { ShutdownTask } from '../../src/lifecycle/tasks.js';
import type { ShutdownReport, StepStatus } from '../../src/types.js';
import { sleep } from '../support/async.js';

type Behaviour =
  | { kind: 'ok'; ms: number } // ms 0: synchronous
  | { kind: 'throw'; ms: number } // ms 0: synchronous throw
  | { kind: 'hookTimeout'; ms: number } // rejects with HookTimeoutError, like the HTTP drain
  | { kind: 'hang' };
interface PartSpec {
  behaviour: Behaviour;
  timeout?: number;
}
interface TaskSpec {
  after: number[];
  parts: PartSpec[];
}
interface Scenario {
  tasks: TaskSpec[];
  timeoutMs: number;
  concurrency: 'graph' | 'sequential';
}

const NO_DEADLINE = 1_000_000;
const even = fc.integer({ min: 0, max: 30 }).map((n) => n * 2);
const odd = fc.integer({ min: 0, max: 40 }).map((n) => n * 2 + 1);

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('ok' as const), ms: even }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('throw' as const), ms: even }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('hookTimeout' as const), ms: even }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hang' as const }) },
);
const faultyPart: fc.Arbitrary<PartSpec> = fc.record({ behaviour, timeout: fc.option(odd, { nil: undefined }) });
const healthyPart: fc.Arbitrary<PartSpec> = fc.record({ behaviour: fc.record({ kind: fc.constant('ok' as const), ms: even }) });

function dag(part: fc.Arbitrary<PartSpec>): fc.Arbitrary<TaskSpec[]> {
  return fc.integer({ min: 1, max: 7 }).chain((n) =>
    fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.record({
          after: fc.subarray(Array.from({ length: i }, (_, j) => j)),
          parts: fc.array(part, { minLength: 0, maxLength: 3 }),
        }),
      ),
    ),
  );
}

const faultyScenario: fc.Arbitrary<Scenario> = fc.record({
  tasks: dag(faultyPart),
  timeoutMs: fc.oneof(fc.integer({ min: 1, max: 250 }), fc.constant(NO_DEADLINE)),
  concurrency: fc.constantFrom('graph' as const, 'sequential' as const),
});
const healthyScenario: fc.Arbitrary<Scenario> = fc.record({
  tasks: dag(healthyPart),
  timeoutMs: fc.constant(NO_DEADLINE),
  concurrency: fc.constantFrom('graph' as const, 'sequential' as const),
});

const id = (i: number) => `t${i}`;
const label = (i: number, j: number) => `t${i}.part${j}`;
const message = (i: number, j: number) => `boom ${i}.${j}`;

interface Expected {
  status: StepStatus;
  startMs: number;
  endMs: number;
  /** when each part is called, ms since start; undefined = never called */
  calls: (number | undefined)[];
  error?: string | RegExp;
}

/** The reference model: what the scheduler must report for this scenario. */
function model({ tasks, timeoutMs: D, concurrency }: Scenario): Expected[] {
  const out: Expected[] = [];
  tasks.forEach((spec, i) => {
    const after = concurrency === 'sequential' ? (i > 0 ? [i - 1] : []) : spec.after;
    const deps = after.map((j) => out[j]!);
    const skipped: Expected = { status: 'skipped', startMs: -1, endMs: -1, calls: spec.parts.map(() => undefined) };
    // A dependent that did not end before the deadline holds its dependency back until the deadline.
    if (deps.some((dep) => dep.status === 'skipped' || dep.endMs >= D)) return out.push(skipped);
    const start = Math.max(0, ...deps.map((dep) => dep.endMs));
    if (start >= D) return out.push(skipped);

    let t = start;
    let status: Exclude<StepStatus, 'ok' | 'skipped'> | undefined;
    let error: string | RegExp | undefined;
    const calls: (number | undefined)[] = spec.parts.map(() => undefined);
    for (const [j, part] of spec.parts.entries()) {
      if (t >= D) break;
      calls[j] = t;
      const left = D - t;
      const own = part.timeout !== undefined && part.timeout < left ? part.timeout : undefined;
      const natural = part.behaviour.kind === 'hang' ? Infinity : part.behaviour.ms;
      const timedOut = own !== undefined && natural > own;
      const end = t + (timedOut ? own : natural);
      if (end >= D) {
        // cut off by the global deadline
        if (status === undefined) [status, error] = ['timeout', new RegExp(`${label(i, j)} did not finish within ${own ?? left} ms`)];
        t = D;
        break;
      }
      if (status === undefined) {
        if (timedOut) [status, error] = ['timeout', new RegExp(`${label(i, j)} did not finish within ${own} ms`)];
        else if (part.behaviour.kind === 'throw') [status, error] = ['failed', message(i, j)];
        else if (part.behaviour.kind === 'hookTimeout') [status, error] = ['timeout', new RegExp(`${label(i, j)} did not finish`)];
      }
      t = end;
    }
    // A step whose last part ended on the deadline tick is cut off too (the deadline wins).
    if (t >= D) return out.push({ status: status ?? 'timeout', startMs: start, endMs: D, calls, error: error ?? /./ });
    out.push({ status: status ?? 'ok', startMs: start, endMs: t, calls, error });
  });
  return out;
}

function toTasks(scenario: Scenario, t0: () => number, calls: number[][][]): ShutdownTask[] {
  return scenario.tasks.map((spec, i) => ({
    id: id(i),
    name: `Task${i}`,
    kind: 'destroy',
    after: spec.after.map(id),
    parts: spec.parts.map((part, j) => ({
      label: label(i, j),
      timeout: part.timeout,
      run: () => {
        calls[i]![j]!.push(Date.now() - t0());
        const b = part.behaviour;
        switch (b.kind) {
          case 'ok':
            return b.ms === 0 ? 'sync' : sleep(b.ms);
          case 'throw':
            if (b.ms === 0) throw new Error(message(i, j));
            return sleep(b.ms).then(() => Promise.reject(new Error(message(i, j))));
          case 'hookTimeout':
            if (b.ms === 0) throw new HookTimeoutError(label(i, j), 0);
            return sleep(b.ms).then(() => Promise.reject(new HookTimeoutError(label(i, j), b.ms)));
          case 'hang':
            return new Promise(() => {});
        }
      },
    })),
  }));
}

async function execute(scenario: Scenario) {
  const t0 = Date.now();
  const calls = scenario.tasks.map((spec) => spec.parts.map(() => [] as number[]));
  let report: ShutdownReport | undefined;
  let resolvedAt = -1;
  void runShutdown(toTasks(scenario, () => t0, calls), { reason: 'property', deadline: new Deadline(scenario.timeoutMs), concurrency: scenario.concurrency }).then(
    (r) => {
      report = r;
      resolvedAt = Date.now() - t0;
    },
  );
  // Fake time jumps from timer to timer, so running up to a far deadline costs nothing.
  await vi.advanceTimersByTimeAsync(scenario.timeoutMs + 1_000);
  if (!report) throw new Error('runShutdown did not resolve');
  return { report, calls, resolvedAt };
}

function checkAgainstModel(scenario: Scenario, report: ShutdownReport, calls: number[][][], resolvedAt: number): void {
  const expected = model(scenario);
  const steps = new Map(report.steps.map((s) => [s.id, s]));
  expect(report.steps).toHaveLength(scenario.tasks.length);
  expect(steps.size).toBe(scenario.tasks.length);

  expected.forEach((want, i) => {
    const got = steps.get(id(i))!;
    expect({ id: got.id, status: got.status, startMs: got.startMs, endMs: got.endMs }).toEqual({
      id: id(i),
      status: want.status,
      startMs: want.startMs,
      endMs: want.endMs,
    });
    if (want.error instanceof RegExp) expect(got.error).toMatch(want.error);
    else if (want.error !== undefined) expect(got.error).toBe(want.error);
    else if (want.status === 'ok') expect(got.error).toBeUndefined();
    // every part runs at most once, at the time the model says (or never)
    want.calls.forEach((at, j) => expect(calls[i]![j]).toEqual(at === undefined ? [] : [at]));
  });

  // for every edge: the dependent's step ended before the dependency's started
  scenario.tasks.forEach((spec, i) => {
    const dependency = steps.get(id(i))!;
    if (dependency.status === 'skipped') return;
    for (const j of spec.after) {
      const dependent = steps.get(id(j))!;
      expect(dependent.status).not.toBe('skipped');
      expect(dependent.endMs).toBeLessThanOrEqual(dependency.startMs);
    }
  });

  // start order, then the skipped ones in task order
  const started = report.steps.filter((s) => s.status !== 'skipped');
  const skipped = report.steps.filter((s) => s.status === 'skipped');
  expect(report.steps).toEqual([...started, ...skipped]);
  started.forEach((s, k) => k > 0 && expect(s.startMs).toBeGreaterThanOrEqual(started[k - 1]!.startMs));
  expect(skipped.map((s) => s.id)).toEqual(expected.flatMap((e, i) => (e.status === 'skipped' ? [id(i)] : [])));

  const cut = expected.some((e) => e.status === 'skipped' || e.endMs >= scenario.timeoutMs);
  expect(report.ok).toBe(expected.every((e) => e.status === 'ok'));
  expect(report.durationMs).toBe(cut ? scenario.timeoutMs : Math.max(0, ...expected.map((e) => e.endMs)));
  expect(resolvedAt).toBe(report.durationMs);
  expect(vi.getTimerCount()).toBe(0);
}

/** Longest path through the DAG when each step takes the sum of its parts' durations. */
function criticalPath({ tasks, concurrency }: Scenario): number {
  const ends: number[] = [];
  tasks.forEach((spec, i) => {
    const after = concurrency === 'sequential' ? (i > 0 ? [i - 1] : []) : spec.after;
    const own = spec.parts.reduce((sum, p) => sum + (p.behaviour.kind === 'ok' ? p.behaviour.ms : 0), 0);
    ends.push(Math.max(0, ...after.map((j) => ends[j]!)) + own);
  });
  return Math.max(0, ...ends);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('runShutdown on random DAGs', () => {
  it('reports what happened: order, statuses, timings, each part at most once', async () => {
    await fc.assert(
      fc.asyncProperty(faultyScenario, async (scenario) => {
        const { report, calls, resolvedAt } = await execute(scenario);
        checkAgainstModel(scenario, report, calls, resolvedAt);
      }),
      { numRuns: 300 },
    );
  });

  it('takes exactly the critical path when nothing goes wrong (graph), or the sum (sequential)', async () => {
    await fc.assert(
      fc.asyncProperty(healthyScenario, async (scenario) => {
        const { report } = await execute(scenario);
        expect(report.ok).toBe(true);
        expect(report.durationMs).toBe(criticalPath(scenario));
      }),
      { numRuns: 150 },
    );
  });
});
