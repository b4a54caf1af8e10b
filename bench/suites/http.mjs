/**
 * 3. HTTP: CPU per request, like with like. The headline is the same-process A/B (bare fastify and
 * quiesce in one server process, load alternated between their ports); the request-scope rows come
 * from the same process; `inject()` and separate processes are cross-checks.
 */
import { ask, runChild, startServer, stopServer } from '../lib/children.mjs';
import { atMost, goal } from '../lib/goals.mjs';
import { alternate, fmtInt, fmtRatio, fmtUs, median, paired } from '../lib/stats.mjs';

const SINGLETON = goal(atMost('ratio', 1.03, { unit: '×' }));
/** After each phase: trailing work and a young-generation collection, charged to that phase (common.ts serveCpuProbe). */
const SETTLE_MS = 50;
const WARMUP_MAX_MS = 20_000;
const INJECT_PHASE_MS = 1500;
const REQ5D = goal(atMost('ratio', 1.5, { unit: '×' }));

export default {
  title: '3. HTTP',
  params: (quick) =>
    quick
      ? { rounds: 3, duration: 1, warmup: 3000, connections: 50, separateRounds: 0, injectRounds: 3, injectN: 1000 }
      : { rounds: 8, duration: 3, warmup: 20000, connections: 50, separateRounds: 3, injectRounds: 5, injectN: 5000 },
  describe: (p, { env }) => `
\`GET /json\` → \`{"hello":"world"}\`. Bare fastify: a synchronous handler calling a service; quiesce: a singleton
controller whose synchronous method calls a singleton service (the method is the route's handler). Same handler
shape on both sides; logging off. autocannon, ${p.connections} keep-alive connections, runs in its own process
(${env.pinned ? `pinned to CPU ${env.loadCore}, the servers to CPU ${env.serverCore}` : 'not pinned'}).
*CPU per request* = the server process's CPU time (user + system, \`process.cpuUsage\`) over a phase, divided by
the responses of that phase; each phase starts after and ends, inside its window, with ${SETTLE_MS} ms for trailing work (request
scopes released after their responses) and a young-generation GC (\`node --expose-gc\`), so that a phase pays
for its own garbage rather than the next one. Each round starts one route later.

- **Same process (headline).** Bare fastify and quiesce listen in ONE process (same V8 state, JIT and GC
  history; bare fastify is quiesce's own copy of fastify); the load alternates between their ports, ${p.duration} s
  per phase after a warm-up of ${fmtInt(p.warmup)} requests per route (or ${WARMUP_MAX_MS / 1000} s), ${p.rounds} rounds; ratio = median over rounds of the ratio of
  back-to-back phases. The quiesce singleton route includes whatever quiesce adds per request (in-flight
  tracking for the drain). Goal: ≤ ${SINGLETON.bounds[0].limit}× bare fastify.
- **Request scope**, same process: the same JSON through a controller that depends on 5 request-scoped
  Disposables (each a no-op synchronous \`@onDestroy\`), so quiesce creates a scope, 5 instances and a
  controller per request and destroys them after the response; and through 5 request-scoped providers
  without hooks. Ratio to the singleton route of the same process. Goal for the Disposables:
  ≤ ${REQ5D.bounds[0].limit}×.
- **\`inject()\`**: \`fastify.inject()\` on both stacks in one process, no sockets, ${fmtInt(p.injectN)} sequential injections per
  phase (fewer if ${INJECT_PHASE_MS} ms pass first), ${p.injectRounds} alternated rounds (a cross-check without network or load generator).
- **Separate processes**: each stack alone in its own server process (plus NestJS on fastify), ${p.separateRounds ? `${p.separateRounds} alternated rounds` : 'skipped in the quick run'}. Kept as a second figure because it is what a deployment runs, but it compares two heaps
  with different GC histories: bare fastify alone moves by 1.2–1.35× depending on whether its first full GC
  ran while idle (V8's inline caches for \`process.nextTick\`'s objects; see bench/README.md), so its ratio
  says more about that than about per-request work.`,
  async run(ctx, p) {
    const { env } = ctx;
    if (!env.haveLib) throw new Error('the HTTP suite needs the library built');
    const rows = [];
    const load = await startServer(env, 'load.js', ['--serve'], { core: env.loadCore });
    const servers = [];
    try {
      const runLoad = async (url, duration) => {
        const m = await ask(load, { type: 'run', url, duration, connections: p.connections }, duration * 1000 + 30_000);
        if (m.error) throw new Error(`load ${url}: ${m.error}`);
        const r = m.result;
        if (r.non2xx + r.errors > 0.01 * Math.max(1, r.total)) throw new Error(`load ${url}: ${r.non2xx} non-2xx, ${r.errors} errors of ${r.total}`);
        if (r.non2xx + r.errors) ctx.detail(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors of ${r.total}`);
        return r;
      };
      /** One measured phase: CPU of `server` around one load run. */
      const phase = async (server, url) => {
        // settled at both ends: what an earlier phase (or a warm-up) left behind lands outside the window
        const c0 = (await ask(server, { type: 'cpu', settle: SETTLE_MS })).micros;
        const r = await runLoad(url, p.duration);
        const cpuUsPerReq = ((await ask(server, { type: 'cpu', settle: SETTLE_MS })).micros - c0) / r.total;
        return { ...r, cpuUsPerReq, summary: `${fmtInt(r.rps)} req/s, p99 ${r.p99} ms, server CPU ${fmtUs(cpuUsPerReq)}/req` };
      };
      const cpu = (res, k) => median(res[k].map((r) => r.cpuUsPerReq));
      /**
       * Warm-up by requests, not seconds: on a busy machine a second may be a few hundred requests, too few
       * for V8 to optimize the hot paths, and the optimizing compiler's CPU would land in the first phase.
       */
      const warmUp = async (k, url) => {
        const t0 = Date.now();
        let served = 0;
        while (served < p.warmup && Date.now() - t0 < WARMUP_MAX_MS) served += (await runLoad(url, 1)).total;
        ctx.log(`http: warm-up ${k}: ${fmtInt(served)} requests in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      };

      // same process
      const ab = await startServer(env, 'servers/ab.js', [], { nodeArgs: ['--expose-gc'] });
      servers.push(ab);
      const targets = { fastify: `${ab.ready.fastifyUrl}/json`, quiesce: `${ab.ready.quiesceUrl}/json`, req5: `${ab.ready.quiesceUrl}/json-req5`, req5d: `${ab.ready.quiesceUrl}/json-req5d` };
      for (const [k, url] of Object.entries(targets)) await warmUp(k, url);
      const res = await alternate(ctx, 'http/same-process', Object.keys(targets), p.rounds, (k) => phase(ab, targets[k]));
      const ratio = paired(res.fastify, res.quiesce, 'cpuUsPerReq');
      const r5 = paired(res.quiesce, res.req5, 'cpuUsPerReq');
      const r5d = paired(res.quiesce, res.req5d, 'cpuUsPerReq');
      rows.push(
        { subject: 'bare fastify, sync handler (same process as quiesce)', result: `${fmtUs(cpu(res, 'fastify'))} CPU/req`, ratio: '1.00×', note: 'baseline' },
        { subject: 'quiesce singleton route, sync method (same process): per-request cost incl. in-flight tracking', result: `${fmtUs(cpu(res, 'quiesce'))} CPU/req`, baseline: 'bare fastify, same process', ratio: fmtRatio(ratio), goal: SINGLETON, measured: { ratio } },
        { subject: 'quiesce route, controller with 5 request-scoped providers, no hooks (same process)', result: `${fmtUs(cpu(res, 'req5'))} CPU/req`, baseline: 'quiesce singleton route', ratio: fmtRatio(r5), note: 'reference' },
        { subject: 'quiesce route, controller with 5 request-scoped Disposables, no-op sync `@onDestroy` (same process)', result: `${fmtUs(cpu(res, 'req5d'))} CPU/req`, baseline: 'quiesce singleton route', ratio: fmtRatio(r5d), goal: REQ5D, measured: { ratio: r5d } },
      );
      ctx.detail(`same process, CPU µs per request per round: ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => r.cpuUsPerReq.toFixed(1)).join(', ')}]`).join('; ')}`);
      ctx.detail(`same process, req/s per round (one core shared by both stacks; the load generator on the other): ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => fmtInt(r.rps)).join(', ')}]`).join('; ')}`);
      await stopServer(ab);

      // inject(), one process, no sockets
      const inj = await runChild(env, 'inject.js', ['--rounds', String(p.injectRounds), '--n', String(p.injectN), '--phase-ms', String(INJECT_PHASE_MS)], { timeoutMs: p.injectRounds * 5 * INJECT_PHASE_MS * 2 + 90_000 });
      rows.push({ subject: '`inject()`, one process: quiesce singleton route vs bare fastify', result: `${fmtUs(inj.usPerReq.quiesce)} CPU/req`, baseline: `bare fastify ${fmtUs(inj.usPerReq.fastify)}`, ratio: fmtRatio(inj.ratio.quiesce), note: 'cross-check' });
      rows.push({ subject: '`inject()`, one process: 5 request-scoped Disposables vs singleton route', result: `${fmtUs(inj.usPerReq.req5d)} CPU/req`, baseline: `singleton route; 5 providers without hooks ${fmtRatio(inj.ratio.req5)}`, ratio: fmtRatio(inj.ratio.req5d), note: 'cross-check' });
      ctx.detail(`inject() CPU µs per request per round: ${Object.entries(inj.perRound).map(([k, v]) => `${k} [${v.map((x) => x.toFixed(1)).join(', ')}]`).join('; ')}`);

      // separate processes (the shutdown suite starts these servers too, so the quick run skips this part)
      if (p.separateRounds > 0) {
        const defs = { fastify: 'servers/fastify.js', quiesce: 'servers/quiesce.js', nest: 'servers/nest.js' };
        const alone = {};
        for (const [k, script] of Object.entries(defs)) servers.push((alone[k] = await startServer(env, script, ['--probe'], { nodeArgs: ['--expose-gc'] })));
        for (const [k, s] of Object.entries(alone)) await warmUp(`${k} (separate process)`, `${s.url}/json`);
        const sep = await alternate(ctx, 'http/separate', Object.keys(defs), p.separateRounds, (k) => phase(alone[k], `${alone[k].url}/json`));
        rows.push({ subject: 'bare fastify alone in its process', result: `${fmtUs(cpu(sep, 'fastify'))} CPU/req, ${fmtInt(median(sep.fastify.map((r) => r.rps)))} req/s`, ratio: '1.00×', note: 'baseline' });
        for (const [k, label] of [['quiesce', 'quiesce alone in its process (separate heaps: see above)'], ['nest', 'NestJS on fastify alone in its process']]) {
          rows.push({ subject: label, result: `${fmtUs(cpu(sep, k))} CPU/req, ${fmtInt(median(sep[k].map((r) => r.rps)))} req/s`, baseline: 'bare fastify, separate process', ratio: fmtRatio(paired(sep.fastify, sep[k], 'cpuUsPerReq')), note: 'informative' });
        }
        ctx.detail(`separate processes, CPU µs per request per round: ${Object.entries(sep).map(([k, v]) => `${k} [${v.map((r) => r.cpuUsPerReq.toFixed(1)).join(', ')}]`).join('; ')}`);
      }
    } catch (e) {
      throw Object.assign(e, { rows }); // the rows measured before the failure still go into the report
    } finally {
      await Promise.all([...servers, load].map(stopServer));
    }
    return rows;
  },
};
