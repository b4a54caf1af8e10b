/**
 * Benchmark 1, one child process per run: resolutions per second of
 *  - `transient`: the transient root of a 100-class DAG (90 new objects per resolve, 10 shared singletons);
 *  - `singleton`: a singleton already created.
 * `--impl quiesce` resolves through `app.get`, `--impl inversify` through a raw inversify Container.
 */
import 'reflect-metadata';
import { args, hardTimeout, num, report } from './common.js';
import { resolutionGraph } from './graphs.js';

const a = args();
const impl = a.impl ?? 'inversify';
const mode = a.mode ?? 'transient';
const ms = num(a, 'ms', 1000);
const warmupMs = num(a, 'warmup', Math.min(500, ms / 2));
hardTimeout(ms + warmupMs + 20_000, `resolution ${impl}`);

const g = resolutionGraph();
const target = mode === 'transient' ? g.root : g.nodes.findIndex((n) => n.scope === 'singleton');

let get: () => unknown;
let close: () => Promise<unknown> = async () => {};
if (impl === 'inversify') {
  const { buildInversify } = await import('./impl/inversify.js');
  const { makeContainer, classes } = buildInversify(g);
  const container = makeContainer();
  const token = classes[target]!;
  get = () => container.get(token);
} else {
  const { buildQuiesce } = await import('./impl/quiesce.js');
  const q = await import('./quiesce-lib.js');
  const { AppModule, classes } = buildQuiesce(g);
  const app = await q.bootstrap(AppModule as never, { signals: false, logger: false });
  const token = classes[target] as never;
  get = () => app.get(token);
  close = () => app.close();
}

// sanity: the transient root really is new each time, with its whole tree
const x1 = get() as { deps: unknown[] };
const x2 = get() as { deps: unknown[] };
if (mode === 'transient' && (x1 === x2 || x1.deps[0] === x2.deps[0])) throw new Error('root is not transient');
if (mode === 'singleton' && x1 !== x2) throw new Error('not a singleton');

const batch = mode === 'transient' ? 200 : 20_000;
let sink = 0;
/** Runs for `durationMs` of wall time; returns ops, wall ms and CPU ms (user + system of this process). */
function runFor(durationMs: number): { ops: number; elapsed: number; cpu: number } {
  let ops = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < durationMs) {
    for (let i = 0; i < batch; i++) if (get() !== undefined) sink++;
    ops += batch;
    now = performance.now();
  }
  const c = process.cpuUsage(c0);
  return { ops, elapsed: now - t0, cpu: (c.user + c.system) / 1000 };
}

runFor(warmupMs);
const { ops, elapsed, cpu } = runFor(ms);
await close();
// per CPU second: what the code costs, even when other processes share the core; per wall second for reference
report({ impl, mode, opsPerCpuSec: (ops / cpu) * 1000, opsPerSec: (ops / elapsed) * 1000, sink: sink > 0 });
