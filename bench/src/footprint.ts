/**
 * Benchmark 7, one child process per run (node --expose-gc): bootstrap of `--n` providers (the
 * bootstrap graph's shape, 100 per module), with a zero-cost destroy hook on every `--every`-th
 * provider (0: none). Reports the bootstrap's CPU time and the heap it keeps per provider
 * (heapUsed after bootstrap minus before, both after full collections; the classes exist before).
 */
import 'reflect-metadata';
import { args, cpuMs, hardTimeout, num, report } from './common.js';
import { footprintGraph } from './graphs.js';
import { buildQuiesce } from './impl/quiesce.js';
import { bootstrap } from './quiesce-lib.js';

const a = args();
const n = num(a, 'n', 20_000);
const every = num(a, 'every', 10);
hardTimeout(100_000, `footprint ${n}/${every}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('footprint needs node --expose-gc');

const { AppModule } = buildQuiesce(footprintGraph(n, every));
gc();
gc();
const heap0 = process.memoryUsage().heapUsed;
const c0 = cpuMs();
const t0 = performance.now();
const app = await bootstrap(AppModule as never, { signals: false, logger: false, shutdownTimeout: 60_000 });
const cpu = cpuMs() - c0;
const wallMs = performance.now() - t0;
gc();
gc();
const bytesPerProvider = (process.memoryUsage().heapUsed - heap0) / n;
if (app.graph().nodes.length < n) throw new Error(`graph has ${app.graph().nodes.length} nodes, expected ${n}`);
const rep = await app.close();
if (!rep.ok) throw new Error('close() report not ok');
report({ n, every, cpuMs: cpu, wallMs, bytesPerProvider });
