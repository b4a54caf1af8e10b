/**
 * The graphs every implementation is built from: plain data, seeded, so quiesce, inversify and
 * NestJS get the very same shape. Each implementation turns a spec into decorated classes.
 */
import { rng } from './common.js';

export interface NodeSpec {
  name: string;
  /** indices of the nodes this one depends on (constructor parameters, in order) */
  deps: number[];
  module: number;
  scope: 'singleton' | 'transient';
  /** ms of an async destroy hook, 0 = none */
  destroyMs: number;
  /** has a (synchronous) init hook */
  init: boolean;
  /** a zero-cost destroy hook: 'sync' `stop() {}`, 'async' `async stop() {}` (instead of destroyMs) */
  noop?: 'sync' | 'async';
  /** a zero-cost asynchronous init hook, `async start() {}` (instead of `init`) */
  noopInit?: 'async';
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  modules: number;
  /** module m imports these modules */
  moduleImports: number[][];
  /** index of the node to resolve (resolution benchmark) */
  root: number;
}

function uniq(xs: number[]): number[] {
  return [...new Set(xs)];
}

/**
 * 1. Resolution: a 100-class DAG under a transient root. 90 transient classes in 4 layers
 * (1 root, 9, 30, 50 as a tree, so one resolve creates 90 objects) that all lean on 10 shared
 * singletons (config, logger, pools...): 3 of them each, randomly. One module.
 */
export function resolutionGraph(): GraphSpec {
  const r = rng(7);
  const layers = [1, 9, 30, 50];
  const nodes: NodeSpec[] = [];
  const starts: number[] = [];
  let idx = 0;
  for (const [l, n] of layers.entries()) {
    starts.push(idx);
    for (let i = 0; i < n; i++) nodes.push({ name: `R${l}_${i}`, deps: [], module: 0, scope: 'transient', destroyMs: 0, init: false }), idx++;
  }
  const shared0 = idx;
  for (let i = 0; i < 10; i++) nodes.push({ name: `Shared${i}`, deps: [], module: 0, scope: 'singleton', destroyMs: 0, init: false });
  // tree edges: layer l+1 node j hangs under layer l node (j mod size(l))
  for (let l = 0; l + 1 < layers.length; l++) {
    for (let j = 0; j < layers[l + 1]!; j++) {
      const parent = starts[l]! + (j % layers[l]!);
      nodes[parent]!.deps.push(starts[l + 1]! + j);
    }
  }
  for (let i = 0; i < shared0; i++) {
    const picks = [0, 1, 2].map(() => shared0 + Math.floor(r() * 10));
    nodes[i]!.deps = uniq([...nodes[i]!.deps, ...picks]);
  }
  return { name: 'resolution-100', nodes, modules: 1, moduleImports: [[]], root: 0 };
}

/**
 * 2. Bootstrap: 1,000 singleton providers across 10 modules of 100. Module m imports m-1.
 * Each provider depends on 0–3 providers declared before it in its module or the previous one;
 * every 10th has an init hook.
 */
export function bootstrapGraph(total = 1000, modules = 10): GraphSpec {
  const r = rng(42);
  const per = total / modules;
  const nodes: NodeSpec[] = [];
  for (let m = 0; m < modules; m++) {
    for (let i = 0; i < per; i++) {
      const self = nodes.length;
      const lo = m === 0 ? 0 : (m - 1) * per;
      const k = Math.floor(r() * 4);
      const deps: number[] = [];
      for (let d = 0; d < k && self > lo; d++) deps.push(lo + Math.floor(r() * (self - lo)));
      nodes.push({ name: `P${m}_${i}`, deps: uniq(deps), module: m, scope: 'singleton', destroyMs: 0, init: self % 10 === 0 });
    }
  }
  const moduleImports = Array.from({ length: modules }, (_, m) => (m === 0 ? [] : [m - 1]));
  return { name: `bootstrap-${total}`, nodes, modules, moduleImports, root: nodes.length - 1 };
}

/**
 * 4a. Disposal, a service graph: 6 modules, each a client (pool, redis, broker...) and a service
 * on top of it, both with 100 ms destroy hooks: 12 hooks, 6 independent branches of depth 2.
 * An application facade (no hook) uses every service. Critical path 200 ms, sum 1,200 ms.
 */
export function disposalServices(ms = 100): GraphSpec {
  const names = ['Db', 'Cache', 'Queue', 'Mail', 'Search', 'Metrics'];
  const nodes: NodeSpec[] = [];
  const services: number[] = [];
  names.forEach((n, m) => {
    const client = nodes.length;
    nodes.push({ name: `${n}Client`, deps: [], module: m, scope: 'singleton', destroyMs: ms, init: false });
    services.push(nodes.length);
    nodes.push({ name: `${n}Service`, deps: [client], module: m, scope: 'singleton', destroyMs: ms, init: false });
  });
  nodes.push({ name: 'AppFacade', deps: services, module: 6, scope: 'singleton', destroyMs: 0, init: false });
  const moduleImports = [...names.map(() => [] as number[]), names.map((_, m) => m)];
  return { name: `disposal-12x${ms}ms`, nodes, modules: 7, moduleImports, root: nodes.length - 1 };
}

/**
 * 4b. Disposal, wide and deep: 60 providers with 20 ms destroy hooks in 5 layers of 12 (one module
 * per layer, layer l imports layer l+1). Each provider depends on 1–3 of the next layer.
 * Critical path 5 × 20 ms, sum 1,200 ms.
 */
export function disposalLayers(ms = 20, width = 12, depth = 5): GraphSpec {
  const r = rng(1234);
  const nodes: NodeSpec[] = [];
  for (let l = 0; l < depth; l++) {
    for (let i = 0; i < width; i++) {
      const deps: number[] = [];
      if (l + 1 < depth) {
        deps.push((l + 1) * width + i); // guarantees a full-depth chain under every node
        const k = Math.floor(r() * 3);
        for (let d = 0; d < k; d++) deps.push((l + 1) * width + Math.floor(r() * width));
      }
      nodes.push({ name: `L${l}_${i}`, deps: uniq(deps), module: l, scope: 'singleton', destroyMs: ms, init: false });
    }
  }
  const moduleImports = Array.from({ length: depth }, (_, l) => (l + 1 < depth ? [l + 1] : []));
  return { name: `disposal-60x${ms}ms-depth${depth}`, nodes, modules: depth, moduleImports, root: 0 };
}

/**
 * 4c. Disposal, random: `n` providers (seeded) in one module, each depending on 0–3 providers declared
 * before it, each a Disposable whose destroy hook sleeps a random 0–50 ms (0: a zero-cost async hook).
 */
export function disposalRandom(n = 200, maxMs = 50): GraphSpec {
  const r = rng(2024);
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const deps: number[] = [];
    const k = i === 0 ? 0 : Math.floor(r() * 4);
    for (let d = 0; d < k; d++) deps.push(Math.floor(r() * i));
    const ms = Math.round(r() * maxMs);
    nodes.push({ name: `D${i}`, deps: uniq(deps), module: 0, scope: 'singleton', destroyMs: ms, init: false, ...(ms === 0 ? { noop: 'async' as const } : {}) });
  }
  return { name: `disposal-${n}-random-0-${maxMs}ms`, nodes, modules: 1, moduleImports: [[]], root: n - 1 };
}

/**
 * 6. Init hooks ready at once: `n` independent singleton providers, each with a zero-cost asynchronous
 * init hook (`async start() {}`), in modules of 100; `hooks: false` gives the same graph without hooks.
 */
export function initGraph(n: number, hooks: boolean): GraphSpec {
  const per = 100;
  const modules = Math.ceil(n / per);
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    nodes.push({ name: `I${i}`, deps: [], module: Math.floor(i / per), scope: 'singleton', destroyMs: 0, init: false, ...(hooks ? { noopInit: 'async' as const } : {}) });
  }
  return { name: `init-${n}${hooks ? '' : '-nohooks'}`, nodes, modules, moduleImports: Array.from({ length: modules }, () => []), root: 0 };
}

/**
 * 6. Scheduler: `n` singleton providers, each with a zero-cost destroy hook, in independent modules of
 * 100 (the app module imports them all). `independent`: no dependencies, every hook ready at once;
 * otherwise each provider depends on 0–2 providers declared before it in its module (seeded).
 */
export function schedulerGraph(n: number, independent: boolean, noop: 'sync' | 'async'): GraphSpec {
  const r = rng(99);
  const per = 100;
  const modules = Math.ceil(n / per);
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const m = Math.floor(i / per);
    const lo = m * per;
    const deps: number[] = [];
    if (!independent) for (let d = Math.floor(r() * 3); d > 0 && i > lo; d--) deps.push(lo + Math.floor(r() * (i - lo)));
    nodes.push({ name: `S${m}_${i - lo}`, deps: uniq(deps), module: m, scope: 'singleton', destroyMs: 0, init: false, noop });
  }
  const moduleImports = Array.from({ length: modules }, () => [] as number[]);
  return { name: `scheduler-${n}${independent ? '-independent' : ''}`, nodes, modules, moduleImports, root: 0 };
}

/** 7. Footprint: the bootstrap graph with a zero-cost destroy hook on every `every`-th provider (0: none). */
export function footprintGraph(n: number, every: number): GraphSpec {
  const g = bootstrapGraph(n, Math.max(1, Math.round(n / 100)));
  if (every > 0) g.nodes.forEach((node, i) => i % every === every - 1 && (node.noop = 'sync'));
  return { ...g, name: `footprint-${n}-${every}` };
}

/** Longest path of destroy times (the best any scheduler can do). */
export function criticalPathMs(g: GraphSpec): number {
  const memo = new Map<number, number>();
  const longest = (i: number): number => {
    const hit = memo.get(i);
    if (hit !== undefined) return hit;
    const n = g.nodes[i]!;
    const v = n.destroyMs + Math.max(0, ...n.deps.map(longest));
    memo.set(i, v);
    return v;
  };
  return Math.max(...g.nodes.map((_, i) => longest(i)));
}

/** Modules in an order where every module comes after the modules it imports. */
export function moduleOrder(g: GraphSpec): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  const visit = (m: number) => {
    if (seen.has(m)) return;
    seen.add(m);
    g.moduleImports[m]!.forEach(visit);
    out.push(m);
  };
  for (let m = 0; m < g.modules; m++) visit(m);
  return out;
}

/** Modules nobody imports: what the app module imports. */
export function rootModules(g: GraphSpec): number[] {
  const imported = new Set(g.moduleImports.flat());
  return Array.from({ length: g.modules }, (_, m) => m).filter((m) => !imported.has(m));
}
