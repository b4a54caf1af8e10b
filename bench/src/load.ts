/**
 * The HTTP load generator (its own process, pinned to its own core by the runner): autocannon with
 * keep-alive connections. Two modes:
 *  - one-shot: `--url --duration --warmup --connections`, reports one result and exits;
 *  - `--serve`: stays up and runs one load per `{ type: 'run', id, url, duration, connections }`
 *    message, answering `{ type: 'done', id, result }` (so alternated phases pay no process start).
 */
import autocannon from 'autocannon';
import { args, hardTimeout, message, num, report } from './common.js';

const a = args();

function run(url: string, seconds: number, connections: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: seconds, timeout: 10 }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

function summary(url: string, r: autocannon.Result) {
  return {
    url,
    rps: r.requests.total / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

if (a.serve === 'true') {
  hardTimeout(num(a, 'limit-ms', 30 * 60_000), 'load --serve');
  process.on('message', (m: { type?: string; id?: number; url: string; duration: number; connections: number }) => {
    if (m?.type !== 'run') return;
    run(m.url, m.duration, m.connections).then(
      (r) => message({ type: 'done', id: m.id, result: summary(m.url, r) }),
      (e: Error) => message({ type: 'done', id: m.id, error: e.message }),
    );
  });
  process.on('disconnect', () => process.exit(0)); // the runner is gone
  message({ type: 'ready' });
} else {
  const url = a.url!;
  const connections = num(a, 'connections', 50);
  const duration = num(a, 'duration', 5);
  const warmup = num(a, 'warmup', 1);
  hardTimeout((duration + warmup) * 1000 + 20_000, 'load');
  if (warmup > 0) await run(url, warmup, connections);
  report(summary(url, await run(url, duration, connections)));
}
