/**
 * Benchmark 6, one child process per run: the cost of shutdown itself. `--n` singleton providers, each
 * with a zero-cost destroy hook (`--noop sync`: `stop() {}`, `--noop async`: `async stop() {}`), in
 * modules of 100; `--independent`: no dependencies (every hook ready at once), else 0–2 per provider.
 * Measures CPU time (and wall time) of the shutdown only, everything created beforehand:
 *  - minimal: a 10-line promise-based DAG scheduler over the same graph and the same instances;
 *  - quiesce: bootstrap, then `app.close()`;
 *  - nest:    createApplicationContext, then `app.close()` (hooks in onModuleDestroy).
 * `--phase init` measures startup instead: `--n` independent providers whose async init hooks are all
 * ready at once; `--impl quiesce` is `bootstrap()` with the hooks, `quiesce-nohooks` the same graph without
 * them (the difference is what the hooks cost), `minimal` creates the instances and awaits every hook.
 */
import 'reflect-metadata';
import { args, counters, cpuMs, hardTimeout, num, report, sleep, untilIdle } from './common.js';
import { initGraph, schedulerGraph, type GraphSpec } from './graphs.js';

const a = args();
const impl = a.impl ?? 'minimal';
const n = num(a, 'n', 1000);
const independent = a.independent === 'true';
const noop = a.noop === 'async' ? 'async' : 'sync';
hardTimeout(num(a, 'limit-ms', 100_000), `scheduler ${impl} ${n}`);
/** Idle time between creating everything and measuring the shutdown. */
const SETTLE_MS = 200;

if (a.phase === 'init') await measureInit();
else await measureShutdown();

/** The shutdown of `n` Disposables (the default phase). */
async function measureShutdown(): Promise<void> {
  const g = schedulerGraph(n, independent, noop);

  /** The reference: each node waits for its dependents, then runs its hook; nothing else. */
  async function minimalShutdown(spec: GraphSpec, instances: { stop(): unknown }[]): Promise<void> {
    const dependents = spec.nodes.map(() => [] as number[]);
    spec.nodes.forEach((node, i) => node.deps.forEach((d) => dependents[d]!.push(i)));
    const done: Promise<unknown>[] = new Array(spec.nodes.length);
    const step = (i: number): Promise<unknown> => (done[i] ??= Promise.all(dependents[i]!.map(step)).then(() => instances[i]!.stop()));
    await Promise.all(spec.nodes.map((_, i) => step(i)));
  }

  let close: () => Promise<unknown>;
  let check: (result: unknown) => string | undefined = () => undefined;
  if (impl === 'minimal') {
    const stop = noop === 'sync' ? () => void counters.disposed++ : async () => void counters.disposed++;
    const instances = g.nodes.map(() => ({ stop }));
    close = () => minimalShutdown(g, instances);
  } else if (impl === 'nest') {
    const { buildNest } = await import('./impl/nest.js');
    const { NestFactory } = await import('@nestjs/core');
    const app = await NestFactory.createApplicationContext(buildNest(g).AppModule, { logger: false, abortOnError: false });
    close = () => app.close();
  } else {
    const { buildQuiesce } = await import('./impl/quiesce.js');
    const q = await import('./quiesce-lib.js');
    const app = await q.bootstrap(buildQuiesce(g).AppModule as never, { signals: false, logger: false, shutdownTimeout: 60_000 });
    close = () => app.close();
    check = (rep) => ((rep as { ok: boolean }).ok ? undefined : `report not ok: ${JSON.stringify(rep).slice(0, 500)}`);
  }

  // Let the process settle first: optimizing compiles that startup queued finish on a background thread,
  // and process CPU time would charge them to the shutdown (seen with --trace-opt at N = 1,000: a few ms
  // of a ~10 ms close). Same pause for every subject.
  await sleep(SETTLE_MS);
  const c0 = cpuMs();
  const t0 = performance.now();
  const result = await close();
  const wallMs = performance.now() - t0;
  // the compiles and GC work the shutdown queued on background threads are its cost too (bench/README.md)
  await untilIdle();
  const cpu = cpuMs() - c0;
  const problem = check(result) ?? (counters.disposed !== n ? `${counters.disposed} of ${n} hooks ran` : undefined);
  if (problem) throw new Error(`scheduler ${impl} ${n}: ${problem}`);
  report({ impl, n, independent, noop, cpuMs: cpu, wallMs, usPerDisposable: (cpu * 1000) / n });
}

/** `--phase init`: CPU of creating `n` independent providers and running their async init hooks. */
async function measureInit(): Promise<void> {
  const hooks = impl !== 'quiesce-nohooks';
  const spec = initGraph(n, hooks);
  let start: () => Promise<unknown>;
  if (impl === 'minimal') {
    const init = async () => void counters.inited++;
    start = () => Promise.all(spec.nodes.map(() => ({ start: init })).map((instance) => instance.start()));
  } else {
    const { buildQuiesce } = await import('./impl/quiesce.js');
    const q = await import('./quiesce-lib.js');
    const { AppModule } = buildQuiesce(spec);
    start = () => q.bootstrap(AppModule as never, { signals: false, logger: false, startupTimeout: 60_000 });
  }
  const c0 = cpuMs();
  const t0 = performance.now();
  await start();
  const wallMs = performance.now() - t0;
  await untilIdle(); // its background work is its cost (bench/README.md)
  const cpu = cpuMs() - c0;
  if (counters.inited !== (hooks ? n : 0)) throw new Error(`scheduler init ${impl} ${n}: ${counters.inited} init hooks ran`);
  report({ impl, n, phase: 'init', cpuMs: cpu, wallMs });
}
