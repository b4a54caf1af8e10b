/**
 * Turns the instances an owner created into shutdown tasks: one per record, in reverse creation order,
 * each waiting for the records of the same owner that were built from it (and for `first`, e.g. the HTTP
 * step). A record without destroy parts becomes a relay: not reported, it only passes the order on, so
 * "B waits for A through C" needs one task per instance and one edge per dependency (linear), never the
 * set of nearest Disposables of every instance.
 */
import type { ShutdownTask } from '../lifecycle/tasks.js';
import type { InstanceRecord } from './instance.js';

export function destroyTasks(records: readonly InstanceRecord[], first: readonly string[] = []): ShutdownTask[] {
  const owner = records[0]?.owner;
  const base = records[0]?.seq ?? 0;
  // dependents[i]: ids of the records built from records[i]
  const dependents: (string[] | undefined)[] = new Array<string[] | undefined>(records.length);
  for (const record of records) {
    for (const dependency of record.deps) {
      // a scope's instances use app singletons: those outlive the scope and are not its to order
      if (dependency.owner !== owner) continue;
      const index = dependency.seq - base;
      if (records[index] !== dependency) continue; // not part of this plan
      const list = dependents[index];
      if (list === undefined) dependents[index] = [record.id];
      else if (list[list.length - 1] !== record.id) list.push(record.id);
    }
  }
  const tasks: ShutdownTask[] = new Array<ShutdownTask>(records.length);
  for (let i = records.length - 1, t = 0; i >= 0; i--, t++) {
    const record = records[i]!;
    const after = dependents[i];
    tasks[t] = {
      id: record.id,
      name: record.node.name,
      kind: 'destroy',
      after: first.length === 0 ? (after ?? noIds) : after ? [...first, ...after] : first,
      parts: record.parts,
      relay: record.parts.length === 0 ? true : undefined,
    };
  }
  return tasks;
}

const noIds: readonly string[] = Object.freeze([]);
