/**
 * What the container created, and who owns it.
 *
 * Words (each meaning of "scope" has its own):
 * - `Scope` (public, a provider's `scope:`): how long an instance lives: 'singleton' | 'transient' | 'request'.
 * - `InstanceOwner`: holds the records of what it created and destroys them when it closes: the app
 *   (singletons, and transients made for them or by app.get) or one `WorkScope` (scopes.ts).
 * - `WorkScope` (public): a unit of work (an HTTP request, a message, a job) owning its request-scoped
 *   instances and the Disposable transients resolved through it. `OpenScopes`: the ones not yet closed.
 *
 * One record per singleton, per request-scoped instance and per Disposable transient. A record keeps its
 * direct dependencies (`deps`): the records it was built from, with what a non-Disposable transient on the
 * way was built from passed up in its place. That is linear in the size of the instance graph; the nearest
 * Disposables an instance depends on (0.1's `dependsOn`, filled with Array.includes: N × D memory and
 * quadratic time in graphs with many Disposables) are never materialised: the destroy plan carries order
 * through the instances that have nothing to destroy as relay tasks.
 */
import { PlanStep } from '../lifecycle/plan.js';
import type { StepPart } from '../lifecycle/tasks.js';
import type { ProviderNode } from './graph.js';

/**
 * A record is also the instance's destroy step (lifecycle/plan.ts): its id is the step id, its parts the
 * step's parts, and without parts it is a relay. Destroying an owner's instances then needs no second
 * object per instance (destroy-plan.ts); a record is destroyed once, in one plan.
 */
export class InstanceRecord extends PlanStep {
  constructor(
    /** Step id: the graph node id, suffixed [n] for the n-th transient instance of a node in its owner. */
    id: string,
    readonly node: ProviderNode,
    readonly value: unknown,
    /** Destroy parts; empty when the instance is not Disposable (then it only relays order). */
    parts: readonly StepPart[],
    /** Records this instance was built from (possibly from another owner: request instances use singletons). */
    readonly deps: readonly InstanceRecord[],
    readonly owner: InstanceOwner,
    /** Position in the owner's `records`. */
    readonly seq: number,
  ) {
    super(id, node.name, 'destroy', parts, parts.length === 0);
  }
}

export class InstanceOwner {
  /** Every record, in creation order (a topological order: dependencies first). */
  records: InstanceRecord[] = [];
  /** How many records have destroy parts. */
  disposableCount = 0;
  /** Cached instances: singletons for the app, request-scoped ones for a work scope. */
  readonly cache = new Map<ProviderNode, InstanceRecord>();
  /** Set when its instances are about to be destroyed: what arrives afterwards is destroyed on arrival. */
  closed = false;
  private transientCount: Map<ProviderNode, number> | undefined;

  constructor(
    readonly kind: 'app' | 'work',
    /** Values that seed request-scoped providers of a work scope (REQUEST -> the request). */
    readonly values?: ReadonlyMap<unknown, unknown>,
  ) {}

  nextTransientId(node: ProviderNode): string {
    this.transientCount ??= new Map();
    const n = (this.transientCount.get(node) ?? 0) + 1;
    this.transientCount.set(node, n);
    return `${node.id}[${n}]`;
  }

  add(record: InstanceRecord): void {
    this.records.push(record);
    if (record.parts.length > 0) this.disposableCount++;
  }

  /** Hands over every record (for destruction) and forgets them, so a closed owner holds nothing. */
  release(): InstanceRecord[] {
    const records = this.records;
    this.records = [];
    this.cache.clear();
    this.transientCount = undefined;
    this.disposableCount = 0;
    return records;
  }
}
