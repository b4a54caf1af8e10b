/**
 * Plans linked by reference (lifecycle/plan.ts) run by runPlan: the same order, relay and report rules as
 * plans given with ids (shutdown.test.ts covers those through runShutdown).
 */
import { describe, expect, it } from 'vitest';
import { PlanStep } from '../../src/lifecycle/plan.js';
import { runPlan } from '../../src/lifecycle/shutdown.js';
import type { StepPart } from '../../src/lifecycle/tasks.js';

function recorder() {
  const events: string[] = [];
  const step = (id: string, run?: StepPart['run']): PlanStep =>
    new PlanStep(id, id, 'destroy', [{ label: `${id} part`, run: run ?? (() => void events.push(id)) }], false);
  return { events, step };
}

describe('runPlan (steps linked by reference)', () => {
  it('starts a step only once every step it waits for has finished, also through relays', async () => {
    const { events, step } = recorder();
    const a = step('a');
    const b = step('b', async () => {
      await Promise.resolve();
      events.push('b');
    });
    const relay = PlanStep.relay('relay');
    const c = step('c');
    relay.waitFor(a);
    relay.waitFor(b);
    c.waitFor(relay);
    const report = await runPlan([a, b, relay, c], { reason: 'test', timeoutMs: 1_000, concurrency: 'graph' });
    expect(events).toEqual(['a', 'b', 'c']);
    expect(report.ok).toBe(true);
    expect(report.steps.map((s) => s.id)).toEqual(['a', 'b', 'c']); // the relay is not reported
  });

  it('a step that waits for the same step twice still runs once, after it', async () => {
    const { events, step } = recorder();
    const dependent = step('dependent');
    const dependency = step('dependency');
    dependency.waitFor(dependent);
    dependency.waitFor(dependent); // a class that injects the same token twice
    const report = await runPlan([dependent, dependency], { reason: 'test', timeoutMs: 1_000, concurrency: 'graph' });
    expect(events).toEqual(['dependent', 'dependency']);
    expect(report.steps).toHaveLength(2);
  });

  it("'sequential' runs the steps in plan order whatever their links", async () => {
    const { events, step } = recorder();
    const first = step('first', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push('first');
    });
    const second = step('second'); // independent of first: 'graph' would start it at once
    await runPlan([first, second], { reason: 'test', timeoutMs: 1_000, concurrency: 'sequential' });
    expect(events).toEqual(['first', 'second']);
  });

  it('a synchronous plan is done when runPlan returns, faults reported in order', async () => {
    const { events, step } = recorder();
    const throws = step('throws', () => {
      events.push('throws');
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a hostile thrown value
      throw Object.create(null);
    });
    const after = step('after');
    after.waitFor(throws);
    let finished = false;
    const promise = runPlan([throws, after], { reason: 'test', timeoutMs: 1_000, concurrency: 'graph', onFinish: () => (finished = true) });
    expect(finished).toBe(true);
    expect(events).toEqual(['throws', 'after']);
    const report = await promise;
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([
      ['throws', 'failed'],
      ['after', 'ok'],
    ]);
  });
});
