/**
 * The dependency graph: providers as nodes, "depends on" as edges. Built and validated
 * before anything is created; its topological order is the creation order, and its
 * reverse is the destruction order.
 */
import { CycleError, DuplicateProviderError, MissingProviderError, ScopeError } from '../errors.js';
import { tokenName, type Token } from '../tokens.js';
import type { Scope } from '../types.js';
import { describeModule, type LoadedModule } from './modules.js';
import { normalizeProvider, undefinedToken, type Dependency, type Provider, type ProviderDef } from './providers.js';

export interface ProviderNode {
  id: string;
  name: string;
  def: ProviderDef;
  /** Effective scope: a controller that needs a request-scoped provider becomes request-scoped. */
  scope: Scope;
  /** One entry per constructor parameter / factory argument: undefined when optional and missing. */
  args: (ProviderNode | undefined)[];
  properties: { key: string | symbol; node: ProviderNode | undefined }[];
  /** Distinct dependencies, in declaration order. */
  deps: ProviderNode[];
  /** Position in topological order (dependencies first). */
  order: number;
}

export interface ProviderGraph {
  /** Topological order: every node after all of its dependencies. */
  nodes: readonly ProviderNode[];
  byToken: ReadonlyMap<Token, ProviderNode>;
  controllers: readonly ProviderNode[];
}

export function buildGraph(modules: readonly LoadedModule[], overrides: readonly Provider[] = [], overrideModule?: LoadedModule): ProviderGraph {
  const defs = collectDefinitions(modules, overrides, overrideModule);
  const nodes = createNodes(defs);
  const byToken = new Map<Token, ProviderNode>(nodes.map((node) => [node.def.token, node]));
  linkDependencies(nodes, byToken);
  const ordered = topologicalOrder(nodes);
  applyRequestScope(ordered);
  return { nodes: ordered, byToken, controllers: ordered.filter((node) => node.def.controller) };
}

function collectDefinitions(modules: readonly LoadedModule[], overrides: readonly Provider[], overrideModule?: LoadedModule): ProviderDef[] {
  const byToken = new Map<Token, ProviderDef>();
  const list: ProviderDef[] = [];
  for (const module of modules) {
    const add = (def: ProviderDef): void => {
      const previous = byToken.get(def.token);
      if (previous) {
        const same = previous.module === module;
        const token = tokenName(def.token);
        throw new DuplicateProviderError(
          same
            ? { token, module: module.name, lists: previous.controller === def.controller ? (def.controller ? 'controllers' : 'providers') : 'both' }
            : { token, first: `${describeModule(previous.module)}${listName(previous)}`, second: `${describeModule(module)}${listName(def)}` },
        );
      }
      byToken.set(def.token, def);
      list.push(def);
      def.companions?.forEach(add); // the child logger of a provider that injects LOGGER (providers.ts)
    };
    module.providers.forEach((provider, index) => add(normalizeProvider(provider, module, index)));
    module.controllers.forEach((controller, index) => add(normalizeProvider(controller, module, index, true)));
  }
  if (overrideModule) {
    overrides.forEach((provider, index) => {
      const def = normalizeProvider(provider, overrideModule, index);
      const replaced = byToken.get(def.token);
      if (replaced) {
        def.controller = replaced.controller;
        list[list.indexOf(replaced)] = def;
      } else {
        list.push(def);
      }
      byToken.set(def.token, def);
      for (const companion of def.companions ?? []) {
        byToken.set(companion.token, companion);
        list.push(companion);
      }
    });
  }
  return list;
}

/** Says which list of its module a definition came from, when it is not the usual providers list. */
function listName(def: ProviderDef): string {
  return def.controller ? ' (controllers)' : '';
}

function createNodes(defs: readonly ProviderDef[]): ProviderNode[] {
  const nodes = defs.map((def) => ({ id: '', name: def.name, def, scope: def.scope, args: [], properties: [], deps: [], order: -1 }));
  assignIds(nodes);
  return nodes;
}

/** Step ids the library gives steps of its own (the HTTP server): never a provider's id. */
const reservedIds: readonly string[] = ['http'];

/**
 * Node ids, unique by construction whatever the tokens are (a string token may be named `Db#2`, `Conn[1]`
 * or `http`). The first provider of each name keeps the name; the others get `Name#2`, `Name#3`... skipping
 * every id already taken. Transient instances are numbered `Id[n]` (instance.ts): no provider id may read as
 * one, so a provider whose id is a transient's id followed by `[digits]` is renumbered (`#k` ids never are).
 */
function assignIds(nodes: ProviderNode[]): void {
  const taken = new Set<string>(reservedIds);
  const renumber: ProviderNode[] = [];
  for (const node of nodes) {
    if (taken.has(node.name)) renumber.push(node);
    else taken.add((node.id = node.name));
  }
  const next = new Map<string, number>();
  const freeId = (name: string): string => {
    for (let k = next.get(name) ?? 2; ; k++) {
      const id = `${name}#${k}`;
      if (taken.has(id)) continue;
      next.set(name, k + 1);
      taken.add(id);
      return id;
    }
  };
  for (const node of renumber) node.id = freeId(node.name);

  const transientIds = new Set(nodes.filter((node) => node.def.scope === 'transient').map((node) => node.id));
  if (transientIds.size === 0) return;
  // Renumbered ids end in `#k`, so each node is renumbered at most once and the loop ends.
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of nodes) {
      const instance = /^([\s\S]*)\[\d+\]$/.exec(node.id);
      if (!instance || !transientIds.has(instance[1]!)) continue;
      const id = freeId(node.name);
      if (transientIds.delete(node.id)) transientIds.add(id);
      node.id = id;
      changed = true;
    }
  }
}

function linkDependencies(nodes: readonly ProviderNode[], byToken: ReadonlyMap<Token, ProviderNode>): void {
  const missing: { node: ProviderNode; dep: Dependency }[] = [];
  const lookup = (node: ProviderNode, dep: Dependency): ProviderNode | undefined => {
    const target = byToken.get(dep.token);
    if (!target && !dep.optional && dep.token !== undefinedToken) missing.push({ node, dep });
    // a scan, not a set per node: a provider's dependencies are a handful (quadratic only in one provider's own list)
    if (target && !node.deps.includes(target)) node.deps.push(target);
    return target;
  };
  for (let n = 0; n < nodes.length; n++) {
    const node = nodes[n]!;
    const { args, properties } = node.def;
    const resolved: (ProviderNode | undefined)[] = [];
    for (let i = 0; i < args.length; i++) resolved.push(lookup(node, args[i]!));
    node.args = resolved;
    node.properties = properties.length === 0 ? [] : properties.map((dep) => ({ key: dep.property!, node: lookup(node, dep) }));
  }
  const first = missing[0];
  if (first) throw missingProviderError(first.node, first.dep, nodes);
}

function missingProviderError(node: ProviderNode, dep: Dependency, nodes: readonly ProviderNode[]): MissingProviderError {
  return new MissingProviderError({
    token: tokenName(dep.token),
    requester: node.name,
    site: dep.site,
    chain: [...chainFromRoot(node, nodes).map((n) => n.name), tokenName(dep.token)],
    module: describeModule(node.def.module),
    root: node.def.module.path[0]!,
  });
}

/**
 * A shortest chain of dependents from a node that nothing depends on down to `node`.
 * Linear in the graph: each dependents list grows by push (copying it on every append made a missing
 * provider next to a hub with 20,000 dependents take seconds).
 */
function chainFromRoot(node: ProviderNode, nodes: readonly ProviderNode[]): ProviderNode[] {
  const dependents = new Map<ProviderNode, ProviderNode[]>();
  for (const n of nodes) {
    for (const d of n.deps) {
      const list = dependents.get(d);
      if (list) list.push(n);
      else dependents.set(d, [n]);
    }
  }
  const cameFrom = new Map<ProviderNode, ProviderNode | null>([[node, null]]);
  const queue = [node];
  for (let i = 0; i < queue.length; i++) {
    const current = queue[i]!;
    const up = dependents.get(current) ?? [];
    if (up.length === 0) {
      const chain: ProviderNode[] = [];
      for (let n: ProviderNode | null | undefined = current; n; n = cameFrom.get(n)) chain.push(n);
      return chain;
    }
    for (const parent of up) {
      if (!cameFrom.has(parent)) {
        cameFrom.set(parent, current);
        queue.push(parent);
      }
    }
  }
  return [node]; // every dependent chain loops back: a cycle, reported by the cycle check
}

/**
 * Iterative depth-first post-order (no recursion: a 2,000-deep chain is a graph, not a stack overflow).
 * A back edge is a cycle; it is reported with its whole path, first node repeated.
 */
function topologicalOrder(nodes: readonly ProviderNode[]): ProviderNode[] {
  const state = new Map<ProviderNode, 1 | 2>(); // 1 = on the current path, 2 = done
  const ordered: ProviderNode[] = [];
  for (const start of nodes) {
    if (state.has(start)) continue;
    const stack: { node: ProviderNode; next: number }[] = [{ node: start, next: 0 }];
    state.set(start, 1);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const dep = frame.node.deps[frame.next++];
      if (dep === undefined) {
        stack.pop();
        state.set(frame.node, 2);
        frame.node.order = ordered.length;
        ordered.push(frame.node);
      } else if (state.get(dep) === 1) {
        const from = stack.findIndex((f) => f.node === dep);
        throw cycleError(stack.slice(from).map((f) => f.node));
      } else if (!state.has(dep)) {
        state.set(dep, 1);
        stack.push({ node: dep, next: 0 });
      }
    }
  }
  return ordered;
}

/** The whole cycle once in the path (first node repeated); each provider's module in a listing bounded in size. */
function cycleError(cycle: readonly ProviderNode[]): CycleError {
  return new CycleError(
    [...cycle.map((n) => n.name), cycle[0]!.name],
    cycle.map((n) => ({ name: n.name, module: describeModule(n.def.module) })),
  );
}

/**
 * Request scope: a controller that needs a request-scoped provider (directly or through transients)
 * becomes request-scoped; any other singleton that would capture one is an error naming both.
 */
function applyRequestScope(ordered: readonly ProviderNode[]): void {
  if (!ordered.some((node) => node.scope === 'request')) return; // nothing to capture: most apps without HTTP
  const clean = new Set<ProviderNode>(); // transients known to reach no request-scoped provider
  for (const node of ordered) {
    if (node.scope === 'request' || node.scope === 'transient') continue;
    const path = pathToRequestScoped(node, clean);
    if (!path) continue;
    if (node.def.controller) {
      node.scope = 'request';
      continue;
    }
    throw new ScopeError({
      singleton: node.name,
      module: describeModule(node.def.module),
      captured: path[path.length - 1]!.name,
      path: path.map((n) => `${n.name} (${n.scope})`),
    });
  }
}

/**
 * Path from a node through transient dependencies to a request-scoped one, or undefined.
 * Linear: each node reached is visited once and remembers where it was reached from (copying the path
 * on every step made a chain of 10,000 transients quadratic in time and memory).
 */
function pathToRequestScoped(node: ProviderNode, clean: Set<ProviderNode>): ProviderNode[] | undefined {
  const cameFrom = new Map<ProviderNode, ProviderNode>();
  const stack: ProviderNode[] = [];
  for (const dep of node.deps) {
    if (cameFrom.has(dep) || clean.has(dep)) continue;
    cameFrom.set(dep, node);
    stack.push(dep);
  }
  while (stack.length > 0) {
    const last = stack.pop()!;
    if (last.scope === 'request') {
      const path: ProviderNode[] = [];
      for (let n: ProviderNode | undefined = last; n !== undefined && n !== node; n = cameFrom.get(n)) path.push(n);
      path.push(node);
      return path.reverse();
    }
    if (last.scope !== 'transient') continue;
    for (const dep of last.deps) {
      if (cameFrom.has(dep) || clean.has(dep) || dep === node) continue;
      cameFrom.set(dep, last);
      stack.push(dep);
    }
  }
  // the search was exhaustive: no transient it reached leads to a request-scoped provider
  for (const reached of cameFrom.keys()) if (reached.scope === 'transient') clean.add(reached);
  return undefined;
}
