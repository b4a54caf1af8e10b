/** The table and bench/RESULTS*.md, rendered from the suites' rows (goals as data, see goals.mjs). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { goalMet, goalText } from './goals.mjs';
import { BENCH, ROOT } from './prepare.mjs';

const esc = (s) => String(s ?? '').replace(/\|/g, '\\|');

/** Adds `met` to every row from its goal; returns the rows whose goal is not met. */
export function judge(results) {
  const unmet = [];
  for (const { suite, rows } of results) {
    for (const row of rows) {
      row.met = goalMet(row.goal, row.measured);
      if (row.met === false) unmet.push(`${suite.title}: ${row.subject}`);
    }
  }
  return unmet;
}

export function table(results) {
  const cell = (r) => (r.goal ? goalText(r.goal) : r.note ?? '');
  const mark = (met) => (met === undefined ? '' : met ? 'met' : '**NOT MET**');
  return [
    '| Benchmark | Subject | Result | Baseline | Ratio | Goal | |',
    '| --- | --- | ---: | --- | ---: | --- | --- |',
    ...results.flatMap(({ suite, rows }) =>
      rows.map((r) => `| ${esc(suite.title)} | ${esc(r.subject)} | ${esc(r.result)} | ${esc(r.baseline)} | ${esc(r.ratio)} | ${esc(cell(r))} | ${mark(r.met)} |`),
    ),
  ].join('\n');
}

function version(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

function commit() {
  try {
    const git = (...a) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return git('rev-parse', '--short', 'HEAD') + (git('status', '--porcelain', '--', 'src') ? ' + uncommitted src changes' : '');
  } catch {
    return 'unknown';
  }
}

export function markdown({ quick, argv, env, results, failures, unmet, loads, seconds, policy }) {
  const nm = (p) => join(BENCH, 'node_modules', p);
  const versions = [
    `quiesce ${version(ROOT)} (${commit()})`,
    `Node ${process.version}`,
    `fastify ${version(nm('fastify'))} (quiesce's own: ${version(join(ROOT, 'node_modules', 'fastify'))})`,
    `inversify ${version(nm('inversify'))}`,
    `NestJS ${version(nm('@nestjs/core'))} (platform-fastify ${version(nm('@nestjs/platform-fastify'))})`,
    `autocannon ${version(nm('autocannon'))}, close-with-grace ${version(nm('close-with-grace'))}, undici ${version(nm('undici'))}`,
  ];
  const date = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  const lo = Math.min(...loads).toFixed(1);
  const hi = Math.max(...loads).toFixed(1);
  const busy = Math.max(...loads) > env.ncpu * 0.75 + 1;
  const met = results.flatMap((r) => r.rows).filter((r) => r.met === true).length;
  return `# quiesce benchmarks

\`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\`, ${date}, ${seconds} s.${quick ? ' **Quick smoke run**: few, short runs; figures are indicative only.' : ''}

${versions.map((v) => `- ${v}`).join('\n')}
- ${env.ncpu} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.platform()} ${os.release()}; ${env.pinNote}
- 1-minute load average during the run (\`uptime\`): ${lo}–${hi} on ${env.ncpu} cores${busy ? ' — **the machine was busy with other work**: wall-clock and req/s figures are unreliable; the CPU-time rows and same-run ratios much less so' : ''}
- Ratios are against a baseline measured in the same run: medians, over rounds, of ratios of runs made back to back with the subjects alternated. Loopback (127.0.0.1) only.
${env.libNote ? `- ${env.libNote}\n` : ''}- Goals: ${met} met, ${unmet.length} not met${unmet.length ? `: ${unmet.join('; ')}` : ''}. ${policy}
${failures.length ? `\n**Failed suites:**\n${failures.map((f) => `- ${esc(f.split('\n')[0])}`).join('\n')}\n` : ''}
${table(results)}

## What is measured

${results.map(({ suite, params }) => `### ${suite.title}\n\n${suite.describe(params, { quick, env }).trim()}`).join('\n\n')}

## Run details

${results.flatMap(({ suite, details }) => details.map((d) => `- ${suite.title}: ${d}`)).join('\n')}
`;
}
