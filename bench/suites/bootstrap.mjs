/** 2. Bootstrap vs NestJS and raw inversify: 1,000 providers (first and repeated), then larger graphs. */
import { runChild } from '../lib/children.mjs';
import { atMost, goal } from '../lib/goals.mjs';
import { alternate, fmtMs, fmtN, fmtRatio, median, paired } from '../lib/stats.mjs';

const GOAL = goal(atMost('ratio', 0.5, { unit: '×' }));

export default {
  title: '2. Bootstrap',
  params: (quick) => (quick ? { runs: 1, iters: 1, sizes: [], sizeRuns: 0 } : { runs: 5, iters: 5, sizes: [5000, 20000], sizeRuns: 2 }),
  describe: ({ runs, iters, sizes, sizeRuns }) => `
1,000 singleton providers in 10 modules (module *m* imports *m − 1*, 0–3 dependencies each, every 10th with
an init hook), one fresh set of classes per bootstrap, ${runs} fresh processes per subject. *First in a fresh
process* is the bootstrap a service pays at startup (imports done, the framework's code still cold);
*repeated* the median of the next ${iters} in the same process (as in a test suite). quiesce \`bootstrap()\`
(validation, creation, init) vs NestJS \`createApplicationContext()\` vs raw inversify (bind all, \`get\` all,
\`@postConstruct\`). CPU time of the process (user + system; wall times in the run details), charged to each
bootstrap for the background work it caused and nothing else: the process is let go idle before the timer
starts (the optimizing compiles queued by defining the classes, i.e. running their decorators, are not the
bootstrap's) and again before it stops (the compiles and GC work the bootstrap's own code queued are).
${sizes.length ? `The same graph shape at ${sizes.map(fmtN).join(' and ')} providers (100 per module), first bootstrap in a fresh process, ${sizeRuns} runs each: the ratio to NestJS should stay flat as N grows.` : 'Quick run: the larger graphs are skipped.'}
Goal: ${GOAL.bounds[0].limit}× NestJS's CPU time or less.`,
  async run(ctx, { runs, iters, sizes, sizeRuns }) {
    const rows = [];
    const impls = ctx.env.haveLib ? ['nest', 'quiesce', 'inversify'] : ['nest', 'inversify'];
    const once = (n, it) => async (impl) => {
      const r = await runChild(ctx.env, 'bootstrap.js', ['--impl', impl, '--iters', String(it), '--providers', String(n)], { timeoutMs: 120_000 });
      return { ...r, summary: `${fmtMs(r.first)} first${it ? `, then ${fmtMs(r.ms)}` : ''}` };
    };
    const add = (res, key, what) => {
      rows.push({ subject: `NestJS \`createApplicationContext\`: ${what}`, result: `${fmtMs(median(res.nest.map((r) => r[key])))} CPU`, ratio: '1.00×', note: 'baseline' });
      if (res.quiesce) {
        const ratio = paired(res.nest, res.quiesce, key);
        rows.push({ subject: `quiesce \`bootstrap\` (validate, create, init): ${what}`, result: `${fmtMs(median(res.quiesce.map((r) => r[key])))} CPU`, baseline: 'NestJS', ratio: fmtRatio(ratio), goal: GOAL, measured: { ratio } });
      }
      rows.push({ subject: `raw inversify (bind + get all): ${what}`, result: `${fmtMs(median(res.inversify.map((r) => r[key])))} CPU`, baseline: 'NestJS', ratio: fmtRatio(paired(res.nest, res.inversify, key)) });
    };
    const res = await alternate(ctx, 'bootstrap/1000', impls, runs, once(1000, iters));
    add(res, 'first', '1,000 providers, 10 modules, first in a fresh process');
    add(res, 'ms', `1,000 providers, 10 modules, repeated in one process (median of ${iters} after the first)`);
    ctx.detail(`1,000: CPU ms per run, repeated (first): ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => `${r.ms.toFixed(1)} (${r.first.toFixed(0)})`).join(', ')}]`).join('; ')}`);
    ctx.detail(`1,000: wall ms, medians of runs: ${Object.entries(res).map(([k, v]) => `${k} ${median(v.map((r) => r.wallMs)).toFixed(1)} (first ${median(v.map((r) => r.firstWall)).toFixed(0)})`).join('; ')}`);
    for (const n of sizes) {
      const big = await alternate(ctx, `bootstrap/${n}`, impls, sizeRuns, once(n, 0));
      add(big, 'first', `${fmtN(n)} providers, ${fmtN(n / 100)} modules, first in a fresh process`);
      ctx.detail(`${fmtN(n)}: CPU ms per run: ${Object.entries(big).map(([k, v]) => `${k} [${v.map((r) => r.first.toFixed(0)).join(', ')}]`).join('; ')}`);
    }
    return rows;
  },
};
