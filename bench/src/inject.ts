/**
 * Benchmark 3, in one process without sockets: `fastify.inject()` of GET /json on bare fastify and on
 * quiesce (and the request-scope routes), alternated `--rounds` times, `--n` sequential injections per
 * phase (at most `--phase-ms` of wall time), CPU time of this process per request. No load generator, no network: what each stack costs per
 * request inside fastify's request pipeline.
 */
import { args, cpuMs, hardTimeout, median, num, report } from './common.js';
import { bareFastify, quiesceApp } from './servers/stacks.js';

const a = args();
const rounds = num(a, 'rounds', 5);
const n = num(a, 'n', 5000);
const phaseMs = num(a, 'phase-ms', 1500);
hardTimeout(rounds * 4 * phaseMs * 2 + 60_000, 'inject');

const bare = await bareFastify(false);
const app = await quiesceApp(false);
const targets: Record<string, [{ inject: (o: { method: 'GET'; url: string }) => Promise<{ statusCode: number }> }, string]> = {
  fastify: [bare.fastify, '/json'],
  quiesce: [app.http!, '/json'],
  req5: [app.http!, '/json-req5'],
  req5d: [app.http!, '/json-req5d'],
};

/** `count` injections, or fewer if `phaseMs` of wall time pass first (a busy machine); CPU µs per request. */
async function phase(key: string, count: number): Promise<number> {
  const [f, url] = targets[key]!;
  const c0 = cpuMs();
  const until = performance.now() + phaseMs;
  let done = 0;
  while (done < count && (done < 100 || performance.now() < until)) {
    const res = await f.inject({ method: 'GET', url });
    if (res.statusCode !== 200) throw new Error(`inject ${key} ${url}: HTTP ${res.statusCode}`);
    done++;
  }
  return ((cpuMs() - c0) * 1000) / done;
}

for (const key of Object.keys(targets)) await phase(key, Math.min(n, 2000)); // warm-up
const perRound: Record<string, number[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) for (const key of Object.keys(targets)) perRound[key]!.push(await phase(key, n));
const ratio = (k: string) => median(perRound[k]!.map((x, i) => x / perRound.fastify![i]!));
await Promise.all([bare.fastify.close(), app.close()]);
report({
  rounds,
  n,
  usPerReq: Object.fromEntries(Object.entries(perRound).map(([k, v]) => [k, median(v)])),
  perRound,
  ratio: { quiesce: ratio('quiesce'), req5: median(perRound.req5!.map((x, i) => x / perRound.quiesce![i]!)), req5d: median(perRound.req5d!.map((x, i) => x / perRound.quiesce![i]!)) },
});
