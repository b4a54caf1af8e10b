/**
 * Turns the instances a scope owns into shutdown tasks: one per Disposable, in reverse creation
 * order, each waiting for the Disposables that depend on it (and for `first`, e.g. the HTTP step).
 */
import type { InstanceRecord } from '../container/instance.js';
import type { ShutdownTask } from './tasks.js';

export function destroyTasks(disposables: readonly InstanceRecord[], first: readonly string[] = []): ShutdownTask[] {
  const owned = new Set(disposables);
  const dependents = new Map<InstanceRecord, string[]>();
  for (const record of disposables) {
    for (const dependency of record.dependsOn) {
      // a request's instances may depend on app singletons: those outlive the request and are not its to order
      if (!owned.has(dependency)) continue;
      const list = dependents.get(dependency);
      if (list) list.push(record.id);
      else dependents.set(dependency, [record.id]);
    }
  }
  const tasks: ShutdownTask[] = [];
  for (let i = disposables.length - 1; i >= 0; i--) {
    const record = disposables[i]!;
    tasks.push({
      id: record.id,
      name: record.node.name,
      kind: 'destroy',
      after: [...first, ...(dependents.get(record) ?? [])],
      parts: record.parts,
    });
  }
  return tasks;
}
