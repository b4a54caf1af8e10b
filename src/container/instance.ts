/**
 * What the container created: one record per singleton and per Disposable instance, with the
 * nearest Disposables it depends on (directly or through instances without a destroy step).
 * Scopes own records; shutdown destroys a scope's records in reverse dependency order.
 */
import type { StepPart } from '../lifecycle/tasks.js';
import type { ProviderNode } from './graph.js';

export interface InstanceRecord {
  /** Step id: the graph node id, suffixed [n] for the n-th transient instance of a node. */
  id: string;
  node: ProviderNode;
  value: unknown;
  /** Destroy parts; empty when the instance is not Disposable. */
  parts: readonly StepPart[];
  /** Nearest Disposable instances this one depends on. */
  dependsOn: readonly InstanceRecord[];
}

export class InstanceScope {
  /** Disposable instances, in creation order. */
  readonly disposables: InstanceRecord[] = [];
  /** Cached instances: singletons in the app scope, request-scoped ones in a request scope. */
  readonly cache = new Map<ProviderNode, InstanceRecord>();
  private readonly transientCount = new Map<ProviderNode, number>();

  constructor(readonly kind: 'app' | 'request') {}

  nextTransientId(node: ProviderNode): string {
    const n = (this.transientCount.get(node) ?? 0) + 1;
    this.transientCount.set(node, n);
    return `${node.id}[${n}]`;
  }
}

/** Adds to `into` what an instance contributes to its dependent's ordering: itself if Disposable, else its own nearest Disposables. */
export function collectNearest(record: InstanceRecord, into: InstanceRecord[] | null): void {
  if (into === null) return;
  if (record.parts.length > 0) {
    if (!into.includes(record)) into.push(record);
    return;
  }
  addDistinct(into, record.dependsOn);
}

/** Adds each record not already in `into`: the nearest Disposables an instance passes on to its dependent. */
export function addDistinct(into: InstanceRecord[], records: readonly InstanceRecord[]): void {
  for (const record of records) if (!into.includes(record)) into.push(record);
}
