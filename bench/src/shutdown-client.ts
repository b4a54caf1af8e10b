/**
 * Benchmark 5, the load side (its own process, its own core): 50 keep-alive clients (one undici
 * connection each) looping on GET /slow (300 ms). After `--load-ms` of load this process sends
 * SIGTERM to the server itself (so request timestamps and the signal share one clock), keeps the
 * loops going (as a load balancer would until it notices), and stops each loop at its first failure
 * after the signal. It reports, for requests sent at least 5 ms before the signal: how many, and how
 * many failed (status != 200 or a network error), and when the last of them finished.
 * The runner measures SIGTERM-to-exit from the server's exit event.
 */
import { Client } from 'undici';
import { args, epochMs, hardTimeout, message, num, report, sleep } from './common.js';

const a = args();
const url = a.url!;
const pid = num(a, 'pid', 0);
const clients = num(a, 'clients', 50);
const loadMs = num(a, 'load-ms', 1500);
const afterMs = num(a, 'after-ms', 15_000); // bound on the tail after the signal
// --stop-at-signal: no new requests after the signal (the load balancer already took the instance out)
const stopAtSignal = a['stop-at-signal'] === 'true';
hardTimeout(loadMs + afterMs + 15_000, 'shutdown-client');

interface Rec {
  sent: number;
  end: number;
  status: number; // 0 = network error
  error?: string;
}
const recs: Rec[] = [];
let sigAt = Infinity;
let serverGone = false;
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'exited') serverGone = true;
});

async function loop(i: number): Promise<void> {
  const c = new Client(url, { pipelining: 1, headersTimeout: 20_000, bodyTimeout: 20_000, connect: { timeout: 5_000 } });
  // stagger the start so the 50 requests are spread over the route's 300 ms
  await sleep((i * 300) / clients);
  try {
    while (!serverGone && epochMs() < sigAt + afterMs && !(stopAtSignal && sigAt !== Infinity)) {
      const rec: Rec = { sent: epochMs(), end: 0, status: 0 };
      recs.push(rec);
      try {
        const res = await c.request({ method: 'GET', path: '/slow' });
        await res.body.text();
        rec.status = res.statusCode;
      } catch (e) {
        rec.error = (e as Error & { code?: string }).code ?? (e as Error).message;
      }
      rec.end = epochMs();
      if (rec.status !== 200 && rec.sent >= sigAt - 5) break; // after the signal: first failure ends this loop
      if (rec.status !== 200 && sigAt === Infinity) await sleep(50); // failures before the signal: do not spin
    }
  } finally {
    // --stop-at-signal: the connection stays open and idle, as a pooled keep-alive connection would
    while (stopAtSignal && !serverGone && epochMs() < sigAt + afterMs) await sleep(20);
    await c.destroy().catch(() => {});
  }
}

const loops = Array.from({ length: clients }, (_, i) => loop(i));
await sleep(loadMs);
sigAt = epochMs();
process.kill(pid, 'SIGTERM');
message({ type: 'sigterm', at: sigAt });
await Promise.race([Promise.all(loops), sleep(afterMs + 5_000)]);

const before = recs.filter((r) => r.sent <= sigAt - 5);
const inFlight = before.filter((r) => r.end === 0 || r.end > sigAt);
const failed = before.filter((r) => r.status !== 200);
const errors: Record<string, number> = {};
for (const r of failed) errors[r.error ?? `HTTP ${r.status}`] = (errors[r.error ?? `HTTP ${r.status}`] ?? 0) + 1;
const after = recs.filter((r) => r.sent > sigAt - 5);
report({
  sigAt,
  sentBefore: before.length,
  failedBefore: failed.length,
  inFlightAtSignal: inFlight.length,
  // time from the signal to the end of the last request that was in flight at the signal
  lastInFlightEndMs: inFlight.length ? Math.max(...inFlight.map((r) => (r.end || epochMs()) - sigAt)) : 0,
  // the server's real tail: the last HTTP response (any status), whenever its request was sent (requests
  // that arrive just after the signal may still be served)
  lastServedEndMs: Math.max(0, ...recs.filter((r) => r.status !== 0 && r.end > sigAt).map((r) => r.end - sigAt)),
  unfinished: before.filter((r) => r.end === 0).length,
  afterSignal: { sent: after.length, ok: after.filter((r) => r.status === 200).length },
  errors,
});
