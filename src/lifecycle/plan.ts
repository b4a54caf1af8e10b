/**
 * A shutdown plan: its steps, linked to each other by reference. Each step holds the steps waiting for
 * it (`next`) and how many unfinished steps it waits for (`waitingFor`), so the scheduler never looks an
 * id up while it runs, and whoever builds a plan from objects it already holds (the container, from its
 * instance records) links them without any id at all. Plans given as ids (`ShutdownTask.after`: tests,
 * the stop phase) are linked here once, by `linkById`, which also checks them.
 *
 * A step also carries its run state (started, status, timings): one object per step, and a plan runs once.
 * An instance record of the container is itself a step (container/instance.ts): destroying what a scope or
 * the app created allocates no step objects, and the steps waiting for a record are the records it was
 * built from (its `deps`), shared rather than copied (`nextShared`).
 */
import type { StepStatus } from '../types.js';
import type { PartRun } from './shutdown.js';
import type { ShutdownTask, StepPart } from './tasks.js';

export type StepKind = ShutdownTask['kind'];

export class PlanStep {
  /** Unfinished steps this one waits for. */
  waitingFor = 0;
  /** The steps waiting for this one, linked one by one (waitFor). */
  next: PlanStep[] | undefined = undefined;
  /**
   * More steps waiting for this one: a list the step shares with whoever built the plan (an instance
   * record's dependencies), never changed here, and started last one first (the last dependency was
   * usually created last, so it is freed first: reverse creation order).
   */
  nextShared: readonly PlanStep[] | undefined = undefined;
  // run state, owned by the scheduler (shutdown.ts)
  started = false;
  running = false;
  startMs = -1;
  endMs = -1;
  status: Exclude<StepStatus, 'ok' | 'skipped'> | undefined = undefined;
  error: string | undefined = undefined;
  /** The part running now, once it went asynchronous (to cut it off at the deadline). */
  current: PartRun | undefined = undefined;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly kind: StepKind,
    readonly parts: readonly StepPart[],
    /** Orders only: an instance with nothing to destroy that dependents' order passes through. Not reported. */
    readonly relay: boolean,
  ) {}

  static of(task: ShutdownTask): PlanStep {
    return new PlanStep(task.id, task.name, task.kind, task.parts, task.relay === true);
  }

  /** A step with no parts that only passes order on (e.g. "every stop step is done"). */
  static relay(id: string): PlanStep {
    return new PlanStep(id, id, 'destroy', noParts, true);
  }

  /** This step starts only once `first` has finished (ok, failed or past its budget). */
  waitFor(first: PlanStep): void {
    this.waitingFor += 1;
    if (first.next === undefined) first.next = [this];
    else first.next.push(this);
  }
}

const noParts: readonly StepPart[] = Object.freeze([]);

/**
 * Steps for tasks that name what they wait for by id. Checks the input on the way: unique ids, and every
 * id in `after` naming a task earlier in the list. Tasks come in a topological order; anything else is a
 * programming error, thrown at once instead of hanging until a deadline.
 */
export function linkById(tasks: readonly ShutdownTask[]): PlanStep[] {
  // ids are looked up only when some task names others: a plan of independent steps needs no map at all
  let byId: Map<string, PlanStep> | undefined;
  const steps: PlanStep[] = new Array<PlanStep>(tasks.length);
  // the id looked up last: every step of an app plan names the same few stop steps, so most lookups repeat
  let lastId: string | undefined;
  let lastStep: PlanStep | undefined;
  for (let index = 0; index < tasks.length; index++) {
    const task = tasks[index]!;
    const step = PlanStep.of(task);
    const after = task.after;
    if (after.length > 0 && byId === undefined && index >= smallPlan) {
      byId = new Map();
      for (let i = 0; i < index; i++) addId(byId, steps[i]!);
    } else if (after.length > 0 && byId === undefined && findBefore(steps, index, task.id)) {
      throw new Error(`runShutdown: duplicate task id '${task.id}'`);
    }
    for (let a = 0; a < after.length; a++) {
      const id = after[a]!;
      const before = id === lastId ? lastStep : byId === undefined ? findBefore(steps, index, id) : byId.get(id);
      lastId = id;
      lastStep = before;
      if (before === undefined) {
        const known = id === task.id || tasks.some((other) => other.id === id);
        throw new Error(
          known
            ? `runShutdown: task '${task.id}' comes before '${id}' in its after list; tasks must be in topological order`
            : `runShutdown: task '${task.id}' lists unknown id '${id}' in after`,
        );
      }
      step.waitFor(before);
    }
    if (byId !== undefined) addId(byId, step);
    steps[index] = step;
  }
  return steps;
}

/** Up to this many tasks, ids are found by a scan (a request scope's plan): cheaper than a map. */
const smallPlan = 16;

function findBefore(steps: readonly PlanStep[], index: number, id: string): PlanStep | undefined {
  for (let i = 0; i < index; i++) if (steps[i]!.id === id) return steps[i];
  return undefined;
}

function addId(byId: Map<string, PlanStep>, step: PlanStep): void {
  if (byId.has(step.id)) throw new Error(`runShutdown: duplicate task id '${step.id}'`);
  byId.set(step.id, step);
}
