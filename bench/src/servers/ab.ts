/**
 * Benchmark 3, the same-process A/B server: bare fastify and quiesce (see stacks.ts) listening in ONE
 * process, so both see the same V8 state, JIT and GC history; the runner alternates the load between
 * their ports. It answers `{ type: 'cpu', id }` with this process's CPU time so far (µs).
 */
import { message, serveCpuProbe } from '../common.js';
import { bareFastify, quiesceApp } from './stacks.js';

const bare = await bareFastify(true);
const app = await quiesceApp(true);
serveCpuProbe(true);
process.once('SIGTERM', () => {
  void Promise.all([bare.fastify.close(), app.close()]).finally(() => process.exit(0));
});
message({ type: 'ready', url: app.url, fastifyUrl: bare.url, quiesceUrl: app.url });
