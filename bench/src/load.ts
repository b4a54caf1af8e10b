/**
 * The HTTP load generator (its own process, pinned to its own core by the runner): autocannon,
 * 50 keep-alive connections, a short warm-up, then a timed run. Reports requests/s and latency.
 */
import autocannon from 'autocannon';
import { args, hardTimeout, num, report } from './common.js';

const a = args();
const url = a.url!;
const connections = num(a, 'connections', 50);
const duration = num(a, 'duration', 5);
const warmup = num(a, 'warmup', 1);
hardTimeout((duration + warmup) * 1000 + 20_000, 'load');

function run(seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, timeout: 10 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

if (warmup > 0) await run(warmup);
const r = await run(duration);
if (r.non2xx > 0 || r.errors > 0) process.stderr.write(`load ${url}: ${r.non2xx} non-2xx, ${r.errors} errors\n`);
report({
  url,
  rps: r.requests.total / r.duration,
  p50: r.latency.p50,
  p99: r.latency.p99,
  total: r.requests.total,
  errors: r.errors + r.timeouts,
  non2xx: r.non2xx,
});
