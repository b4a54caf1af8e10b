/**
 * Benchmark 2, one child process per run: time to bootstrap 1,000 providers in 10 modules
 * (validated, created, init hooks run), one fresh set of classes per iteration.
 *  - quiesce:   bootstrap(AppModule, { signals: false, logger: false })
 *  - nest:      NestFactory.createApplicationContext(AppModule, { logger: false })
 *  - inversify: new Container(), bind all 1,000, get every one (eager singletons), @postConstruct inits
 * Reports the median over `--iters` iterations after one warm-up iteration, in CPU time of the process
 * (user + system: robust when other processes share the machine) and in wall time.
 */
import 'reflect-metadata';
import { args, hardTimeout, median, num, report } from './common.js';
import { bootstrapGraph } from './graphs.js';

const a = args();
const impl = a.impl ?? 'inversify';
const iters = num(a, 'iters', 5);
hardTimeout(60_000, `bootstrap ${impl}`);

const g = bootstrapGraph();

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
let wall: number[] = [];

/** One bootstrap; returns its CPU time (ms, this process), and records its wall time. */
async function once(): Promise<number> {
  if (impl === 'inversify') {
    const { buildInversify } = await import('./impl/inversify.js');
    const { makeContainer, classes } = buildInversify(g);
    const c0 = cpuMs();
    const t0 = performance.now();
    const container = makeContainer();
    for (const C of classes) container.get(C);
    wall.push(performance.now() - t0);
    return cpuMs() - c0;
  }
  if (impl === 'nest') {
    const { buildNest } = await import('./impl/nest.js');
    const { NestFactory } = await import('@nestjs/core');
    const { AppModule } = buildNest(g);
    const c0 = cpuMs();
    const t0 = performance.now();
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
    wall.push(performance.now() - t0);
    const dt = cpuMs() - c0;
    await app.close();
    return dt;
  }
  const { buildQuiesce } = await import('./impl/quiesce.js');
  const q = await import('./quiesce-lib.js');
  const { AppModule } = buildQuiesce(g);
  const c0 = cpuMs();
  const t0 = performance.now();
  const app = await q.bootstrap(AppModule as never, { signals: false, logger: false });
  wall.push(performance.now() - t0);
  const dt = cpuMs() - c0;
  if (app.graph().nodes.length < 1000) throw new Error(`quiesce graph has ${app.graph().nodes.length} nodes`);
  await app.close();
  return dt;
}

const first = await once();
const firstWall = wall[0]!;
wall = [];
const times: number[] = [];
for (let i = 0; i < iters; i++) times.push(await once());
report({ impl, ms: median(times), wallMs: median(wall), first, firstWall, times });
