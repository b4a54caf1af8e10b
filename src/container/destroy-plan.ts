/**
 * Turns the instances an owner created into a shutdown plan (lifecycle/plan.ts): one step per record, in
 * reverse creation order, each waiting for the records of the same owner that were built from it. A record
 * without destroy parts is a relay: not reported, it only passes the order on, so "B waits for A
 * through C" needs one step per instance and one link per dependency (linear), never the set of nearest
 * Disposables of every instance.
 *
 * A record is its own step (instance.ts), so nothing is allocated per instance here: a record's step
 * waits for its dependents (counted into `waitingFor`), and the steps waiting for it are the records it
 * was built from, its own `deps` list (`nextShared`), whenever all of them are in this plan. Only a record
 * that also uses instances of another owner (a scope's instance using app singletons: those outlive the
 * scope and are not its to order) gets a list of its own.
 */
import type { PlanStep } from '../lifecycle/plan.js';
import type { InstanceRecord } from './instance.js';

export function destroyPlan(records: readonly InstanceRecord[]): PlanStep[] {
  const count = records.length;
  const owner = records[0]?.owner;
  const base = records[0]?.seq ?? 0;
  const inPlan = (dependency: InstanceRecord): boolean => dependency.owner === owner && records[dependency.seq - base] === dependency;
  // steps[count - 1 - i] is records[i]: the plan runs in reverse creation order
  const steps: PlanStep[] = new Array<PlanStep>(count);
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    steps[count - 1 - i] = record;
    const deps = record.deps;
    let linked = 0;
    for (let d = 0; d < deps.length; d++) {
      if (!inPlan(deps[d]!)) continue;
      deps[d]!.waitingFor += 1;
      linked += 1;
    }
    if (linked === deps.length) record.nextShared = linked > 0 ? deps : undefined;
    else if (linked > 0) {
      // last dependency first, as nextShared is taken: reverse creation order
      const own: PlanStep[] = [];
      for (let d = deps.length - 1; d >= 0; d--) if (inPlan(deps[d]!)) own.push(deps[d]!);
      record.next = own;
    }
  }
  return steps;
}
