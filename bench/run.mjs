#!/usr/bin/env node
/**
 * quiesce benchmarks: `npm run bench` (full, ~10 min) or `npm run bench -- --quick` (CI smoke, < 1 min
 * once prepared). Options: --only a,b (suites below) · --no-install / --no-build · --strict.
 * Exit code: 1 when a suite crashed. The full run also exits 1 when a goal is not met; --quick does
 * not (a smoke run on a shared CI machine checks that every suite runs, not the figures) unless --strict.
 * Every suite is a module in suites/ that returns rows with their goals as data; see README.md.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { prepare, BENCH, ROOT } from './lib/prepare.mjs';
import { judge, markdown, table } from './lib/report.mjs';

const SUITES = ['resolution', 'bootstrap', 'footprint', 'http', 'scheduler', 'disposal', 'shutdown'];
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const strict = argv.includes('--strict') || !quick;
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',').map((s) => s.trim()).filter(Boolean) : SUITES;
const t0 = performance.now();
const log = (msg) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
const bad = only.filter((s) => !SUITES.includes(s));
if (bad.length || !only.length) {
  process.stderr.write(`bench: unknown suite "${bad.join(',')}"; choose from ${SUITES.join(', ')}\n`);
  process.exit(2);
}
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

const env = prepare({ install: !argv.includes('--no-install'), build: !argv.includes('--no-build'), log });
const budgetMs = quick ? 180_000 : 30 * 60_000;
const loads = [os.loadavg()[0]];
const results = [];
const failures = [];
log(`${quick ? 'quick' : 'full'} run: ${only.join(', ')}${env.libNote ? `; ${env.libNote}` : ''}`);
for (const [i, name] of only.entries()) {
  const suite = (await import(`./suites/${name}.mjs`)).default;
  const params = suite.params(quick);
  const details = [];
  const ctx = { quick, env, log, detail: (d) => details.push(d), overBudget: () => performance.now() - t0 > budgetMs };
  log(`[${i + 1}/${only.length}] ${name}: ${JSON.stringify(params)}`);
  try {
    results.push({ suite, params, details, rows: await suite.run(ctx, params) });
  } catch (e) {
    if (e?.rows?.length) results.push({ suite, params, details, rows: e.rows });
    failures.push(`${name}: ${e.stack ?? e}`);
    log(`${name} FAILED: ${e.stack ?? e}`);
  }
  loads.push(os.loadavg()[0]);
}

const unmet = judge(results);
const policy = quick && !argv.includes('--strict')
  ? 'Quick run: exit code 1 only if a suite crashed, whatever the goals.'
  : 'Exit code 1 if a suite crashed or a goal is not met.';
const seconds = Math.round((performance.now() - t0) / 1000);
process.stdout.write(`\n${table(results)}\n\n`);
const outFile = join(BENCH, quick ? 'RESULTS.quick.md' : onlyAt >= 0 ? 'RESULTS.partial.md' : 'RESULTS.md');
writeFileSync(outFile, markdown({ quick, argv, env, results, failures, unmet, loads, seconds, policy }));
log(`wrote ${outFile.replace(ROOT + '/', '')}; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
if (unmet.length) log(`goals NOT MET (${unmet.length}): ${unmet.join('; ')}`);
if (failures.length) log(`${failures.length} suite(s) FAILED: ${failures.map((f) => f.split(':')[0]).join(', ')}`);
log(policy);
process.exit(failures.length || (strict && unmet.length) ? 1 : 0);
