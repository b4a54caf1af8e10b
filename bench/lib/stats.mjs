/** Medians, paired ratios and number formats shared by the suites. */

export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Median over rounds of b[r][key] / a[r][key]: each pair ran back to back, so slow drifts of the machine cancel. */
export const paired = (a, b, key) => median(a.map((x, i) => (b?.[i] ? b[i][key] / x[key] : NaN)));

export const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
export const fmtMs = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US')} ms` : 'n/a');
export const fmtUs = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x.toFixed(1)} µs` : 'n/a');
export const fmtRatio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');
export const fmtKb = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1024).toFixed(2)} kB` : 'n/a');
export const fmtN = (n) => n.toLocaleString('en-US');

/**
 * Alternates the subjects over `runs` rounds, each round starting one subject later (A B C, B C A,
 * C A B, ...) so that no subject always runs first or right after the same one; `runOne(subject, round)`
 * returns one result. Past the run's time budget, no new round starts (the first always runs).
 */
export async function alternate(ctx, name, subjects, runs, runOne) {
  const out = Object.fromEntries(subjects.map((s) => [s, []]));
  for (let r = 0; r < runs; r++) {
    if (r > 0 && ctx.overBudget()) {
      ctx.log(`${name}: time budget reached, stopping after ${r} rounds`);
      break;
    }
    for (const s of subjects.map((_, i) => subjects[(i + r) % subjects.length])) {
      const res = await runOne(s, r);
      out[s].push(res);
      ctx.log(`${name} ${r + 1}/${runs} ${s}: ${res.summary ?? ''}`);
    }
  }
  return out;
}
