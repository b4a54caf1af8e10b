/** 4. Disposal: close() of graphs whose destroy hooks sleep, vs the measured critical path. */
import { runChild } from '../lib/children.mjs';
import { atMost, goal } from '../lib/goals.mjs';
import { alternate, fmtMs, fmtRatio, median, paired } from '../lib/stats.mjs';

const GOAL = goal(atMost('ratio', 1.2, { unit: '×' }));
/** The random graph is the scheduler's own test: close to an ideal one (issue 13 measured 1.015–1.037×). */
const RANDOM_GOAL = goal(atMost('ratio', 1.05, { unit: '×' }));
const GOALS = { services: GOAL, layers: GOAL, random: RANDOM_GOAL };
const LABELS = {
  services: '12 × 100 ms hooks, 6 modules (6 branches of depth 2)',
  layers: '60 × 20 ms hooks, depth 5 (5 modules of 12)',
  random: '200 Disposables, random 0–50 ms hooks, 0–3 dependencies each (seeded)',
};

export default {
  title: '4. Disposal',
  params: (quick) => (quick ? { runs: 1, iters: 1, warmup: 0 } : { runs: 3, iters: 3, warmup: 1 }),
  describe: ({ runs, iters }) => `
Wall time of \`close()\`; hooks sleep (\`setTimeout\`); ${runs} fresh processes per subject, ${iters} shutdowns each.
*Critical path, measured* = an ideal 10-line DAG scheduler over the same graph with the same sleeps, in the
same kind of process. NestJS destroys module after module; within one module its hooks run concurrently
unless one provider depends on another (then one at a time). The 12-hook graph has a client and a service on
top of it in each module, so NestJS runs all 12 one at a time; the 60-hook graph has one layer per module,
which suits NestJS's module-by-module order. The random graph: 200 Disposables in one module, each depending on
0–3 providers declared before it, each hook sleeping a seeded random 0–50 ms (0: a zero-cost async hook).
Goal: quiesce's default (\`'graph'\`) within ${GOAL.bounds[0].limit}× the critical path, and within
${RANDOM_GOAL.bounds[0].limit}× on the random graph.`,
  async run(ctx, { runs, iters, warmup }) {
    const rows = [];
    const impls = ctx.env.haveLib ? ['critical', 'quiesce-graph', 'quiesce-sequential', 'nest'] : ['critical', 'nest'];
    for (const graph of ['services', 'layers', 'random']) {
      // 'sequential' on the random graph is the sum of its hooks (~5 s a shutdown): it says nothing new there
      const subjects = graph === 'random' ? impls.filter((impl) => impl !== 'quiesce-sequential') : impls;
      const res = await alternate(ctx, `disposal/${graph}`, subjects, runs, async (impl) => {
        const r = await runChild(ctx.env, 'disposal.js', ['--impl', impl, '--graph', graph, '--iters', String(iters), '--warmup', String(warmup)], { timeoutMs: 60_000 });
        return { ...r, summary: fmtMs(r.ms) };
      });
      const ms = (k) => median(res[k].map((r) => r.ms));
      const { criticalPathMs, sumMs } = res.critical[0];
      rows.push({ subject: `critical path, measured: ${LABELS[graph]}`, result: fmtMs(ms('critical')), baseline: `theory ${criticalPathMs} ms, sum ${sumMs} ms`, ratio: '1.00×', note: 'baseline' });
      if (ctx.env.haveLib) {
        const ratio = paired(res.critical, res['quiesce-graph'], 'ms');
        rows.push({ subject: "quiesce `disposeConcurrency: 'graph'`", result: fmtMs(ms('quiesce-graph')), baseline: 'critical path', ratio: fmtRatio(ratio), goal: GOALS[graph], measured: { ratio } });
        if (res['quiesce-sequential']) rows.push({ subject: "quiesce `disposeConcurrency: 'sequential'`", result: fmtMs(ms('quiesce-sequential')), baseline: 'critical path', ratio: fmtRatio(paired(res.critical, res['quiesce-sequential'], 'ms')), note: `graph/sequential ${fmtRatio(paired(res['quiesce-sequential'], res['quiesce-graph'], 'ms'))}` });
      }
      rows.push({ subject: 'NestJS `onModuleDestroy`, `app.close()`', result: fmtMs(ms('nest')), baseline: 'critical path', ratio: fmtRatio(paired(res.critical, res.nest, 'ms')) });
      ctx.detail(`${graph}: ms per run: ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => r.ms.toFixed(1)).join(', ')}]`).join('; ')}`);
    }
    return rows;
  },
};
