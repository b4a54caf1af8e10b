/** 1. Resolution: `app.get` vs raw inversify, resolutions per CPU-second, fresh process per run. */
import { runChild } from '../lib/children.mjs';
import { atLeast, goal } from '../lib/goals.mjs';
import { alternate, fmtInt, fmtRatio, median, paired } from '../lib/stats.mjs';

const GOAL = goal(atLeast('ratio', 0.9, { unit: '×' }));
const WHAT = { transient: 'transient root of a 100-class DAG', singleton: 'singleton' };

export default {
  title: '1. Resolution',
  params: (quick) => (quick ? { runs: 1, ms: 250 } : { runs: 4, ms: 1000 }),
  describe: ({ runs, ms }) => `
Resolutions per CPU-second (user + system time of the process, which other work on the machine disturbs
less than wall time; per wall-second in the run details), ${runs} fresh processes per subject, ${ms} ms each,
pinned to one core. *Transient root*: a generated 100-class DAG (90 transient classes as a 4-level tree,
each also depending on 3 of 10 shared singletons), so one resolve creates 90 objects; *singleton*: an
already created singleton. quiesce \`app.get\` vs \`Container.get\` of raw inversify over the same decorated
classes. Goal: ${GOAL.bounds[0].limit}× raw inversify or better.`,
  async run(ctx, { runs, ms }) {
    const impls = ctx.env.haveLib ? ['inversify', 'quiesce'] : ['inversify'];
    const rows = [];
    for (const mode of ['transient', 'singleton']) {
      const res = await alternate(ctx, `resolution/${mode}`, impls, runs, async (impl) => {
        const r = await runChild(ctx.env, 'resolution.js', ['--impl', impl, '--mode', mode, '--ms', String(ms)], { timeoutMs: ms * 2 + 30_000 });
        return { ...r, summary: `${fmtInt(r.opsPerCpuSec)} ops per CPU-s (${fmtInt(r.opsPerSec)} per wall-s)` };
      });
      const base = median(res.inversify.map((r) => r.opsPerCpuSec));
      rows.push({ subject: `raw inversify: ${WHAT[mode]}`, result: `${fmtInt(base)} ops/CPU-s`, ratio: '1.00×', note: 'baseline' });
      if (res.quiesce) {
        const ratio = paired(res.inversify, res.quiesce, 'opsPerCpuSec');
        rows.push({ subject: `quiesce \`app.get\`: ${WHAT[mode]}`, result: `${fmtInt(median(res.quiesce.map((r) => r.opsPerCpuSec)))} ops/CPU-s`, baseline: 'raw inversify', ratio: fmtRatio(ratio), goal: GOAL, measured: { ratio } });
      }
      const per = (key) => Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => fmtInt(r[key])).join(', ')}]`).join('; ');
      ctx.detail(`${mode}: ops per CPU-second per run: ${per('opsPerCpuSec')}; per wall-second: ${per('opsPerSec')}`);
    }
    return rows;
  },
};
