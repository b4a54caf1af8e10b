/** 7. Footprint: bootstrap with every 10th provider Disposable vs none, time and heap per provider. */
import { runChild } from '../lib/children.mjs';
import { atMost, goal } from '../lib/goals.mjs';
import { alternate, fmtKb, fmtMs, fmtN, fmtRatio, median, paired } from '../lib/stats.mjs';

const TIME_RATIO = 1.3;
const KB_PER_PROVIDER = 2;
const EVERY = 10;

export default {
  title: '7. Bootstrap with Disposables',
  params: (quick) => (quick ? { ns: [2000], runs: 1 } : { ns: [5000, 20000], runs: 3 }),
  describe: ({ ns, runs }) => `
Bootstrap of N = ${ns.map(fmtN).join(' and ')} providers (the shape of suite 2: 100 per module, module *m* imports
*m − 1*, 0–3 dependencies each, every 10th with an init hook), with a zero-cost destroy hook on every
${EVERY}th provider vs on none; ${runs} fresh processes (\`node --expose-gc\`) each, alternated. *Time*: CPU time of
\`bootstrap()\`; *heap per provider*: \`heapUsed\` after bootstrap minus before (each after two full
collections, the classes already defined), divided by N. Goals at every N: with Disposables
≤ ${TIME_RATIO}× the time without, and ≤ ${KB_PER_PROVIDER} kB of heap per provider (flat as N grows: the
Disposables a provider reaches must not be copied into every provider above them).`,
  async run(ctx, { ns, runs }) {
    if (!ctx.env.haveLib) throw new Error('the footprint suite needs the library built');
    const rows = [];
    for (const n of ns) {
      const res = await alternate(ctx, `footprint/${n}`, ['none', 'disposables'], runs, async (k) => {
        const r = await runChild(ctx.env, 'footprint.js', ['--n', String(n), '--every', k === 'none' ? '0' : String(EVERY)], { nodeArgs: ['--expose-gc'], timeoutMs: 120_000 });
        return { ...r, summary: `${fmtMs(r.cpuMs)} CPU, ${fmtKb(r.bytesPerProvider)}/provider` };
      });
      const ms = (k) => median(res[k].map((r) => r.cpuMs));
      const bytes = (k) => median(res[k].map((r) => r.bytesPerProvider));
      const ratio = paired(res.none, res.disposables, 'cpuMs');
      rows.push(
        { subject: `${fmtN(n)} providers, no Disposables`, result: `${fmtMs(ms('none'))} CPU, ${fmtKb(bytes('none'))} heap/provider`, ratio: '1.00×', note: 'baseline' },
        {
          subject: `${fmtN(n)} providers, every ${EVERY}th Disposable`,
          result: `${fmtMs(ms('disposables'))} CPU, ${fmtKb(bytes('disposables'))} heap/provider`,
          baseline: 'no Disposables',
          ratio: `${fmtRatio(ratio)} time, ${fmtRatio(bytes('disposables') / bytes('none'))} heap`,
          goal: goal(atMost('ratio', TIME_RATIO, { unit: '×', label: 'time' }), atMost('kb', KB_PER_PROVIDER, { unit: ' kB/provider', label: 'heap' })),
          measured: { ratio, kb: bytes('disposables') / 1024 },
        },
      );
      ctx.detail(`${fmtN(n)}: CPU ms, heap bytes/provider per run: ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => `${r.cpuMs.toFixed(0)} ms ${r.bytesPerProvider.toFixed(0)} B`).join(', ')}]`).join('; ')}`);
    }
    return rows;
  },
};
