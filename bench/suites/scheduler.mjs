/**
 * 6. Shutdown scheduler: CPU per Disposable against a minimal scheduler (and NestJS) in the same run,
 * N Disposables ready at once, and many Disposable transients under the default deadline.
 */
import { runChild } from '../lib/children.mjs';
import { atMost, below, equal, goal, holds } from '../lib/goals.mjs';
import { alternate, fmtMs, fmtN, fmtRatio, fmtUs, median, paired } from '../lib/stats.mjs';

const PER_DISPOSABLE_US = 8;
const READY_MS = 500;
const DEADLINE_MS = 10_000;
const DEADLINE_SHARE = 0.25;

export default {
  title: '6. Shutdown scheduler',
  params: (quick) =>
    quick
      ? { ns: [1000, 5000], nestNs: [1000], runs: 1, ready: 20000, readyRuns: 1, transients: 10000, transientRuns: 1 }
      : { ns: [1000, 10000, 50000], nestNs: [1000, 10000, 50000], runs: 5, bigRuns: 3, ready: 20000, readyRuns: 3, transients: 100000, transientRuns: 3 },
  describe: (p) => `
CPU time of the shutdown alone (everything created beforehand, then 200 ms idle so that the optimizing
compiles startup queued do not land in the shutdown's CPU time; after it, the process is let go idle inside the
measurement, so the compiles and GC work the shutdown queued on background threads are its own cost), one
fresh process per run, pinned, subjects alternated, ${p.runs} runs each${p.bigRuns ? ` (${p.bigRuns} at 50,000)` : ''}.

- **Per Disposable**: N = ${p.ns.map(fmtN).join(' / ')} singleton providers with a zero-cost synchronous destroy hook
  (\`stop() {}\`) in independent modules of 100, each depending on 0–2 providers of its module. quiesce
  \`app.close()\` vs a minimal promise-based scheduler over the same graph (each node awaits its dependents'
  promises, then calls its hook: 10 lines, no deadline, no report, no error handling) vs NestJS \`app.close()\`
  (\`onModuleDestroy\`; measured at N = ${p.nestNs.map(fmtN).join(' / ')}). Goal: ≤ ${PER_DISPOSABLE_US} µs CPU per Disposable at every N,
  and no more than NestJS (≤ 1.0×) where NestJS is measured.
- **Ready at once**: ${fmtN(p.ready)} independent Disposables with \`async stop() {}\`: every hook runs at the same time.
  CPU time of \`app.close()\` (wall time in the details). Goal: < ${READY_MS} ms (linear, not quadratic).
- **Init hooks ready at once**: ${fmtN(p.ready)} independent providers with \`@onInit() async start() {}\`, all ready at
  once. What the hooks cost = CPU of \`bootstrap()\` minus CPU of \`bootstrap()\` of the same graph without hooks (paired
  by round; both in the details), beside a minimal baseline that creates the instances and awaits every hook.
  Goal: < ${READY_MS} ms (linear, not quadratic).
- **Transients**: ${fmtN(p.transients)} \`app.get\` of a transient provider whose instances are Disposable (no-op
  synchronous \`@onDestroy\`), then \`app.close()\` with the default ${fmtN(DEADLINE_MS)} ms shutdown deadline,
  ${p.transientRuns} runs. Goal: every instance disposed and the report ok (so inside the deadline, in wall time),
  and \`close()\` well inside it: at most ${DEADLINE_SHARE * 100}% of the deadline (${fmtN(DEADLINE_MS * DEADLINE_SHARE)} ms) of CPU time (on a
  shared machine the wall time is up to 4× the CPU time; it is in the result column and the details).`,
  async run(ctx, p) {
    const { env } = ctx;
    if (!env.haveLib) throw new Error('the scheduler suite needs the library built');
    const rows = [];
    const child = (impl, n, extra = []) => async () => {
      const r = await runChild(env, 'scheduler.js', ['--impl', impl, '--n', String(n), '--limit-ms', '230000', ...extra], { timeoutMs: 240_000 });
      return { ...r, summary: `${fmtUs(r.usPerDisposable)} CPU per Disposable (close ${fmtMs(r.cpuMs)} CPU, ${fmtMs(r.wallMs)} wall)` };
    };
    for (const n of p.ns) {
      const impls = ['minimal', 'quiesce', ...(p.nestNs.includes(n) ? ['nest'] : [])];
      const res = await alternate(ctx, `scheduler/${n}`, impls, n >= 50000 && p.bigRuns ? p.bigRuns : p.runs, (impl) => child(impl, n)());
      const us = (k) => median(res[k].map((r) => r.usPerDisposable));
      const vsMinimal = paired(res.minimal, res.quiesce, 'usPerDisposable');
      const vsNest = res.nest ? paired(res.nest, res.quiesce, 'usPerDisposable') : NaN;
      rows.push({ subject: `minimal promise scheduler: ${fmtN(n)} zero-cost Disposables`, result: `${fmtUs(us('minimal'))} CPU/Disposable`, ratio: '1.00×', note: 'baseline' });
      if (res.nest) rows.push({ subject: `NestJS \`app.close()\`: ${fmtN(n)}`, result: `${fmtUs(us('nest'))} CPU/Disposable`, baseline: 'minimal scheduler', ratio: fmtRatio(paired(res.minimal, res.nest, 'usPerDisposable')) });
      rows.push({
        subject: `quiesce \`app.close()\`: ${fmtN(n)}`,
        result: `${fmtUs(us('quiesce'))} CPU/Disposable`,
        baseline: `minimal scheduler${res.nest ? `; vs NestJS ${fmtRatio(vsNest)}` : ''}`,
        ratio: fmtRatio(vsMinimal),
        goal: res.nest ? goal(atMost('us', PER_DISPOSABLE_US, { unit: ' µs' }), atMost('vsNest', 1, { unit: '× NestJS' })) : goal(atMost('us', PER_DISPOSABLE_US, { unit: ' µs' })),
        measured: { us: us('quiesce'), vsNest },
      });
      ctx.detail(`${fmtN(n)} Disposables, CPU µs per Disposable per run: ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => r.usPerDisposable.toFixed(2)).join(', ')}]`).join('; ')}`);
    }

    const ready = await alternate(ctx, `scheduler/ready-${p.ready}`, ['minimal', 'quiesce'], p.readyRuns, (impl) => child(impl, p.ready, ['--independent', '--noop', 'async'])());
    const readyMs = median(ready.quiesce.map((r) => r.cpuMs));
    rows.push({
      subject: `quiesce \`app.close()\`: ${fmtN(p.ready)} independent Disposables (async no-op hooks) ready at once`,
      result: `${fmtMs(readyMs)} CPU`,
      baseline: `minimal scheduler ${fmtMs(median(ready.minimal.map((r) => r.cpuMs)))}`,
      ratio: fmtRatio(paired(ready.minimal, ready.quiesce, 'cpuMs')),
      goal: goal(below('ms', READY_MS, { unit: ' ms' })),
      measured: { ms: readyMs },
    });
    ctx.detail(`${fmtN(p.ready)} ready at once, close() CPU ms (wall ms) per run: ${Object.entries(ready).map(([k, v]) => `${k} [${v.map((r) => `${r.cpuMs.toFixed(0)} (${r.wallMs.toFixed(0)})`).join(', ')}]`).join('; ')}`);

    const init = await alternate(ctx, `scheduler/init-ready-${p.ready}`, ['minimal', 'quiesce', 'quiesce-nohooks'], p.readyRuns, async (impl) => {
      const r = await runChild(env, 'scheduler.js', ['--phase', 'init', '--impl', impl, '--n', String(p.ready), '--limit-ms', '230000'], { timeoutMs: 240_000 });
      return { ...r, summary: `${fmtMs(r.cpuMs)} CPU (${fmtMs(r.wallMs)} wall)` };
    });
    const hooksMs = median(init.quiesce.map((r, i) => (init['quiesce-nohooks'][i] ? r.cpuMs - init['quiesce-nohooks'][i].cpuMs : NaN)));
    rows.push({
      subject: `quiesce \`bootstrap()\`: ${fmtN(p.ready)} independent async init hooks ready at once (CPU the hooks add)`,
      result: `${fmtMs(hooksMs)} CPU`,
      baseline: `minimal ${fmtMs(median(init.minimal.map((r) => r.cpuMs)))}; bootstrap without hooks ${fmtMs(median(init['quiesce-nohooks'].map((r) => r.cpuMs)))}`,
      ratio: fmtRatio(hooksMs / median(init.minimal.map((r) => r.cpuMs))),
      goal: goal(below('ms', READY_MS, { unit: ' ms' })),
      measured: { ms: hooksMs },
    });
    ctx.detail(`${fmtN(p.ready)} init hooks ready at once, CPU ms (wall ms) per run: ${Object.entries(init).map(([k, v]) => `${k} [${v.map((r) => `${r.cpuMs.toFixed(0)} (${r.wallMs.toFixed(0)})`).join(', ')}]`).join('; ')}`);

    const tr = await alternate(ctx, `scheduler/transients-${p.transients}`, ['quiesce'], p.transientRuns, async () => {
      const r = await runChild(env, 'transients.js', ['--n', String(p.transients), '--timeout', String(DEADLINE_MS)], { timeoutMs: DEADLINE_MS + 90_000 });
      return { ...r, summary: `${fmtN(r.disposed)} of ${fmtN(r.n)} disposed, report ${r.ok ? 'ok' : 'NOT ok'}, close ${fmtMs(r.closeMs)} (${fmtMs(r.closeCpuMs)} CPU); ${fmtN(r.n)} app.get ${fmtMs(r.getMs)}` };
    });
    const worst = tr.quiesce.reduce((w, r) => (r.disposed < w.disposed || (r.disposed === w.disposed && r.closeMs > w.closeMs) ? r : w));
    const closeMs = median(tr.quiesce.map((r) => r.closeMs));
    const closeCpuMs = median(tr.quiesce.map((r) => r.closeCpuMs));
    rows.push({
      subject: `${fmtN(p.transients)} \`app.get\` of a Disposable transient, then \`app.close()\` (deadline ${fmtN(DEADLINE_MS)} ms)`,
      result: `${fmtN(worst.disposed)} disposed (worst run), report ${tr.quiesce.every((r) => r.ok) ? 'ok' : 'NOT ok'}, close ${fmtMs(closeCpuMs)} CPU (${fmtMs(closeMs)} wall)`,
      baseline: 'the shutdown deadline',
      ratio: fmtRatio(closeMs / DEADLINE_MS),
      goal: goal(equal('disposed', p.transients, { prefix: 'all ', suffix: ' disposed' }), holds('ok', 'report ok'), atMost('closeCpuMs', DEADLINE_MS * DEADLINE_SHARE, { unit: ' ms', label: 'close CPU' })),
      measured: { disposed: worst.disposed, ok: tr.quiesce.every((r) => r.ok) ? 1 : 0, closeCpuMs },
    });
    ctx.detail(`transients: per run ${tr.quiesce.map((r) => `[${r.disposed}/${r.n} disposed, ok ${r.ok}, close ${r.closeMs.toFixed(0)} ms wall / ${r.closeCpuMs.toFixed(0)} ms CPU, get ${r.getMs.toFixed(0)} ms]`).join(' ')}`);
    return rows;
  },
};
