/**
 * Turns the instances an owner created into a shutdown plan (lifecycle/plan.ts): one step per record, in
 * reverse creation order, each waiting for the records of the same owner that were built from it. A record
 * without destroy parts becomes a relay: not reported, it only passes the order on, so "B waits for A
 * through C" needs one step per instance and one link per dependency (linear), never the set of nearest
 * Disposables of every instance.
 *
 * Steps are linked by reference, from the records' own `deps` and positions (`seq`): no ids, no maps. A
 * record's step waits for its dependents, so each dependency link is added from the dependent's side.
 */
import { PlanStep } from '../lifecycle/plan.js';
import type { InstanceRecord } from './instance.js';

export function destroyPlan(records: readonly InstanceRecord[]): PlanStep[] {
  const count = records.length;
  const owner = records[0]?.owner;
  const base = records[0]?.seq ?? 0;
  // steps[count - 1 - i] is the step of records[i]: the plan runs in reverse creation order
  const steps: PlanStep[] = new Array<PlanStep>(count);
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    steps[count - 1 - i] = new PlanStep(record.id, record.node.name, 'destroy', record.parts, record.parts.length === 0);
  }
  for (let i = 0; i < count; i++) {
    const dependent = steps[count - 1 - i]!;
    const deps = records[i]!.deps;
    // last dependency first: it was usually created last, so it is freed first (reverse creation order)
    for (let d = deps.length - 1; d >= 0; d--) {
      const dependency = deps[d]!;
      // a scope's instances use app singletons: those outlive the scope and are not its to order
      if (dependency.owner !== owner) continue;
      const index = dependency.seq - base;
      if (records[index] !== dependency) continue; // not part of this plan
      steps[count - 1 - index]!.waitFor(dependent);
    }
  }
  return steps;
}
