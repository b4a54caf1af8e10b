/**
 * Benchmark 4, one child process per run: wall time of shutdown of a graph of providers whose
 * destroy hooks sleep (setTimeout), from `close()` called to resolved.
 *  - quiesce-graph:      bootstrap(..., { disposeConcurrency: 'graph' }), app.close()
 *  - quiesce-sequential: bootstrap(..., { disposeConcurrency: 'sequential' }), app.close()
 *  - nest:               createApplicationContext, hooks in onModuleDestroy, app.close()
 *  - critical:           the measured critical path: an ideal 10-line DAG scheduler over the same
 *                        graph (each node awaits its dependents, then sleeps), no container at all.
 */
import 'reflect-metadata';
import { args, hardTimeout, median, num, report, sleep } from './common.js';
import { criticalPathMs, disposalLayers, disposalRandom, disposalServices, type GraphSpec } from './graphs.js';

const a = args();
const impl = a.impl ?? 'critical';
const which = a.graph ?? 'services';
const iters = num(a, 'iters', 3);
hardTimeout(60_000, `disposal ${impl}`);

const g: GraphSpec = which === 'services' ? disposalServices() : which === 'random' ? disposalRandom() : disposalLayers();

async function idealShutdown(spec: GraphSpec): Promise<void> {
  const dependents = spec.nodes.map(() => [] as number[]);
  spec.nodes.forEach((n, i) => n.deps.forEach((d) => dependents[d]!.push(i)));
  const done = new Map<number, Promise<void>>();
  const step = (i: number): Promise<void> => {
    let p = done.get(i);
    if (!p) {
      p = Promise.all(dependents[i]!.map(step)).then(() => (spec.nodes[i]!.destroyMs ? sleep(spec.nodes[i]!.destroyMs) : undefined));
      done.set(i, p);
    }
    return p;
  };
  await Promise.all(spec.nodes.map((_, i) => step(i)));
}

async function once(): Promise<{ ms: number; extra?: unknown }> {
  if (impl === 'critical') {
    const t0 = performance.now();
    await idealShutdown(g);
    return { ms: performance.now() - t0 };
  }
  if (impl === 'nest') {
    const { buildNest } = await import('./impl/nest.js');
    const { NestFactory } = await import('@nestjs/core');
    const { AppModule } = buildNest(g);
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
    const t0 = performance.now();
    await app.close();
    return { ms: performance.now() - t0 };
  }
  const { buildQuiesce } = await import('./impl/quiesce.js');
  const q = await import('./quiesce-lib.js');
  const { AppModule } = buildQuiesce(g);
  const mode = impl === 'quiesce-sequential' ? 'sequential' : 'graph';
  const app = await q.bootstrap(AppModule as never, { signals: false, logger: false, disposeConcurrency: mode });
  const t0 = performance.now();
  const rep = await app.close('bench');
  const ms = performance.now() - t0;
  const destroy = rep.steps.filter((s) => s.kind === 'destroy');
  const hooked = g.nodes.filter((n) => n.destroyMs > 0).length;
  if (!rep.ok || destroy.length < hooked) throw new Error(`quiesce report: ok=${rep.ok}, ${destroy.length} destroy steps for ${hooked} hooks`);
  return { ms, extra: { reportMs: rep.durationMs } };
}

if (num(a, 'warmup', 1) > 0) await once(); // warm-up (module loading, JIT)
const runs: number[] = [];
let extra: unknown;
for (let i = 0; i < iters; i++) {
  const r = await once();
  runs.push(r.ms);
  extra = r.extra ?? extra;
}
report({ impl, graph: g.name, ms: median(runs), runs, criticalPathMs: criticalPathMs(g), sumMs: g.nodes.reduce((s, n) => s + n.destroyMs, 0), extra });
