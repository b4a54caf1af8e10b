/**
 * Benchmark 6d, one child process per run: `--n` `app.get` of a transient whose instances are
 * Disposable (a zero-cost synchronous @onDestroy), then `app.close()` under the default shutdown
 * deadline (`--timeout`, 10 s). Reports how many were disposed, the report's verdict and the times.
 */
import 'reflect-metadata';
import { args, counters, cpuMs, hardTimeout, num, report, untilIdle } from './common.js';
import { Module, bootstrap, injectable, onDestroy } from './quiesce-lib.js';

const a = args();
const n = num(a, 'n', 100_000);
const timeoutMs = num(a, 'timeout', 10_000);
hardTimeout(timeoutMs + 60_000, `transients ${n}`);

@injectable()
class Handle {
  @onDestroy()
  stop(): void {
    counters.disposed++;
  }
}

@Module({ providers: [{ provide: Handle, useClass: Handle, scope: 'transient' }] })
class AppModule {}

const app = await bootstrap(AppModule, { signals: false, logger: false, shutdownTimeout: timeoutMs });
const g0 = performance.now();
for (let i = 0; i < n; i++) app.get(Handle);
const getMs = performance.now() - g0;
const c0 = cpuMs();
const t0 = performance.now();
const rep = await app.close();
const closeMs = performance.now() - t0;
await untilIdle(); // its background work is its cost (bench/README.md)
report({ n, timeoutMs, disposed: counters.disposed, ok: rep.ok, closeMs, closeCpuMs: cpuMs() - c0, getMs, notOk: rep.steps.filter((s) => s.status !== 'ok').length });
