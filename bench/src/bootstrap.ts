/**
 * Benchmark 2, one child process per run: time to bootstrap `--providers` (1,000) providers, 100 per module
 * (validated, created, init hooks run), one fresh set of classes per iteration.
 *  - quiesce:   bootstrap(AppModule, { signals: false, logger: false })
 *  - nest:      NestFactory.createApplicationContext(AppModule, { logger: false })
 *  - inversify: new Container(), bind all 1,000, get every one (eager singletons), @postConstruct inits
 * Reports the median over `--iters` iterations after one warm-up iteration, in CPU time of the process
 * (user + system: robust when other processes share the machine) and in wall time.
 *
 * CPU time is charged to a bootstrap for everything it caused and nothing else: the process is let go idle
 * after the classes are defined (the optimizing compiles that running their decorators queued are not the
 * bootstrap's), and again after the bootstrap, inside its measurement (the compiles and GC work its own
 * code queued on background threads are). Wall time is the bootstrap alone.
 */
import 'reflect-metadata';
import { args, cpuMs, hardTimeout, median, num, report, untilIdle } from './common.js';
import { bootstrapGraph } from './graphs.js';

const a = args();
const impl = a.impl ?? 'inversify';
const iters = num(a, 'iters', 5);
const providers = num(a, 'providers', 1000);
hardTimeout(110_000, `bootstrap ${impl}`);

const g = bootstrapGraph(providers, Math.max(1, Math.round(providers / 100)));

let wall: number[] = [];

/** One bootstrap; returns its CPU time (ms, this process), and records its wall time. */
async function once(): Promise<number> {
  if (impl === 'inversify') {
    const { buildInversify } = await import('./impl/inversify.js');
    const { makeContainer, classes } = buildInversify(g);
    await untilIdle();
    const c0 = cpuMs();
    const t0 = performance.now();
    const container = makeContainer();
    for (const C of classes) container.get(C);
    wall.push(performance.now() - t0);
    await untilIdle();
    return cpuMs() - c0;
  }
  if (impl === 'nest') {
    const { buildNest } = await import('./impl/nest.js');
    const { NestFactory } = await import('@nestjs/core');
    const { AppModule } = buildNest(g);
    await untilIdle();
    const c0 = cpuMs();
    const t0 = performance.now();
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
    wall.push(performance.now() - t0);
    await untilIdle();
    const dt = cpuMs() - c0;
    await app.close();
    return dt;
  }
  const { buildQuiesce } = await import('./impl/quiesce.js');
  const q = await import('./quiesce-lib.js');
  const { AppModule } = buildQuiesce(g);
  await untilIdle();
  const c0 = cpuMs();
  const t0 = performance.now();
  const app = await q.bootstrap(AppModule as never, { signals: false, logger: false });
  wall.push(performance.now() - t0);
  await untilIdle();
  const dt = cpuMs() - c0;
  if (app.graph().nodes.length < providers) throw new Error(`quiesce graph has ${app.graph().nodes.length} nodes`);
  await app.close();
  return dt;
}

const first = await once();
const firstWall = wall[0]!;
wall = [];
const times: number[] = [];
for (let i = 0; i < iters; i++) times.push(await once());
report({ impl, providers, ms: median(times), wallMs: median(wall), first, firstWall, times });
