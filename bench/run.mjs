#!/usr/bin/env node
/**
 * quiesce benchmarks against its peers: `npm run bench` (full, a few minutes) or
 * `npm run bench -- --quick` (smoke, under a minute). Options:
 *   --quick            fewer runs, shorter durations; still every benchmark
 *   --only a,b         run some of: resolution, bootstrap, http, disposal, shutdown
 *   --strict           exit 1 when a goal is not met (default: only when a benchmark fails to run)
 *   --no-install / --no-build   skip the on-demand steps
 *
 * Every figure is a ratio against a baseline measured in the same run, the median of several runs
 * alternated A B A B, each run in fresh child processes. HTTP servers and load generators run in
 * separate processes pinned to separate cores (taskset), on 127.0.0.1 only. Every child has a hard
 * time limit, so is the whole run. Results: a markdown table on stdout, and bench/RESULTS.md
 * (bench/RESULTS.quick.md for --quick).
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const DIST = join(BENCH, 'dist');
const argv = process.argv.slice(2);
const flag = (f) => argv.includes(f);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag('--quick');
const STRICT = flag('--strict');
const ALL = ['resolution', 'bootstrap', 'http', 'disposal', 'shutdown'];
const ONLY = (opt('--only') ?? ALL.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const o of ONLY) if (!ALL.includes(o)) die(`unknown benchmark "${o}"; choose from ${ALL.join(', ')}`);

/** Runs, durations and limits. Quick mode keeps the whole run under a minute on 2 cores. */
const CFG = QUICK
  ? {
      resolution: { runs: 2, ms: 250 },
      bootstrap: { runs: 2, iters: 1 },
      http: { runs: 2, duration: 1, warmup: 1, connections: 50 },
      disposal: { runs: 1, iters: 1, warmup: 0 },
      shutdown: { runs: 1, loadMs: 800, idleRuns: 1 },
      budgetMs: 90_000,
    }
  : {
      resolution: { runs: 5, ms: 1000 },
      bootstrap: { runs: 7, iters: 5 },
      http: { runs: 8, duration: 3, warmup: 2, connections: 50 },
      disposal: { runs: 3, iters: 3, warmup: 1 },
      shutdown: { runs: 3, loadMs: 1500, idleRuns: 2 },
      budgetMs: 15 * 60_000,
    };

const t0 = performance.now();
const epochMs = () => performance.timeOrigin + performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1).padStart(5);
const log = (msg) => process.stderr.write(`[bench ${elapsed()}s] ${msg}\n`);
function die(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}
const overBudget = () => performance.now() - t0 > CFG.budgetMs;

// ---------------------------------------------------------------- setup: install, build, pinning

function sh(cmd, args, cwd, what) {
  log(`${what}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    die(`${what} failed (exit ${r.status ?? r.signal})`);
  }
  return r.stdout;
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
if (!flag('--no-install')) {
  const lock = join(BENCH, 'package-lock.json');
  const installed = join(BENCH, 'node_modules', '.package-lock.json');
  if (!existsSync(installed) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installed).mtimeMs + 1000)) {
    sh(npm, [existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund', '--loglevel=error'], BENCH, 'bench dependencies');
  }
}

const LIB_SRC = join(ROOT, 'src', 'index.ts');
const LIB_DIST = join(ROOT, 'dist', 'index.js');
let libNote = '';
if (!flag('--no-build')) {
  if (existsSync(LIB_SRC)) {
    if (!existsSync(join(ROOT, 'node_modules', '.package-lock.json'))) sh(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], ROOT, 'library dependencies');
    if (!existsSync(LIB_DIST) || newestMtime(join(ROOT, 'src')) > statSync(LIB_DIST).mtimeMs) sh(npm, ['run', 'build', '--silent'], ROOT, 'library build');
  }
}
const HAVE_LIB = existsSync(LIB_DIST);
if (!HAVE_LIB) libNote = 'quiesce is not built (no dist/index.js): its rows are missing';

const benchBuilt = existsSync(join(DIST, 'run-stamp'))
  ? statSync(join(DIST, 'run-stamp')).mtimeMs
  : 0;
const benchStale = benchBuilt < Math.max(newestMtime(join(BENCH, 'src')), statSync(join(BENCH, 'tsconfig.json')).mtimeMs, HAVE_LIB ? statSync(join(ROOT, 'dist', 'index.d.ts')).mtimeMs : 0);
if (!flag('--no-build') && benchStale) {
  const tsc = join(BENCH, 'node_modules', 'typescript', 'bin', 'tsc');
  log('bench build: tsc -p bench');
  const r = spawnSync(process.execPath, [tsc, '-p', join(BENCH, 'tsconfig.json')], { cwd: BENCH, encoding: 'utf8', timeout: 5 * 60_000 });
  if (r.status !== 0) {
    // without the library's build its imports fail to type-check; tsc still emits the baselines, which run
    if (HAVE_LIB) {
      process.stderr.write(r.stdout + r.stderr);
      die('bench build failed');
    }
    log('bench build: type errors ignored, the library is not built (the quiesce rows are skipped)');
  } else writeFileSync(join(DIST, 'run-stamp'), '');
}

/** The CPUs this process may run on (taskset's affinity list, e.g. "0-3,6"), or null without taskset. */
function allowedCpus() {
  const r = spawnSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const list = r.stdout.split(':').pop().trim();
  const cpus = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a) && cpus.length < 64; c++) cpus.push(c);
  }
  return cpus.filter((c) => Number.isInteger(c));
}
const CPUS = allowedCpus();
const NCPU = CPUS?.length ?? os.availableParallelism?.() ?? os.cpus().length;
const TASKSET = CPUS !== null && CPUS.length >= 2;
const SERVER_CORE = TASKSET ? String(CPUS[0]) : undefined;
const LOAD_CORE = TASKSET ? String(CPUS[1]) : undefined;
const pinNote = TASKSET
  ? `servers and micro-benchmarks on CPU ${SERVER_CORE}, load generators on CPU ${LOAD_CORE} (taskset)`
  : `NOT pinned (${CPUS === null ? 'taskset not available' : 'fewer than 2 CPUs'}): server and load generator share cores, HTTP figures are less reliable`;

// ---------------------------------------------------------------- child processes

const children = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));

/** Starts `node bench/dist/<script>` (pinned to `core` if possible) with an IPC channel. */
function start(script, args, core) {
  const nodeArgs = [join(DIST, script), ...args];
  const [cmd, cmdArgs] = TASKSET && core !== undefined ? ['taskset', ['-c', core, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(cmd, cmdArgs, { cwd: BENCH, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, NODE_ENV: 'production' } });
  children.add(child);
  child.output = '';
  child.stdout.on('data', (d) => (child.output = (child.output + d).slice(-4000)));
  child.stderr.on('data', (d) => (child.output = (child.output + d).slice(-4000)));
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    child.exitAt = epochMs();
    children.delete(child);
    resolve({ code, signal });
  }));
  return child;
}

/** Runs a child to completion and returns its one result (rejects on crash or timeout). */
function runChild(script, args, { core = SERVER_CORE, timeoutMs = 60_000, onMessage, onStart } = {}) {
  return new Promise((resolve, reject) => {
    const child = start(script, args, core);
    onStart?.(child);
    let result;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')}: killed after ${timeoutMs} ms\n${child.output}`));
    }, timeoutMs);
    child.on('message', (m) => {
      if (m?.type === 'result') result = m.result;
      else onMessage?.(m, child);
    });
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (result !== undefined) resolve(result);
      else reject(new Error(`${script} ${args.join(' ')}: exit ${code ?? signal} without a result\n${child.output.trim()}`));
    });
  });
}

/** Starts a server child and waits for its `ready` message with the URL. */
function startServer(script, args = [], timeoutMs = 20_000) {
  return new Promise((resolve, reject) => {
    const child = start(script, args, SERVER_CORE);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script}: not ready after ${timeoutMs} ms\n${child.output}`));
    }, timeoutMs);
    child.on('message', (m) => {
      if (m?.type === 'ready') {
        clearTimeout(timer);
        child.url = m.url;
        resolve(child);
      }
    });
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${script}: exited (${code ?? signal}) before ready\n${child.output.trim()}`));
    });
  });
}

async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await child.exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------- results

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
/** Median over rounds of b[r] / a[r]: each pair ran back to back, so slow drifts of the machine cancel. */
const paired = (a, b, key) => median(a.map((x, i) => (b[i] ? b[i][key] / x[key] : NaN)));
const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const fmtMs = (x) => (Number.isFinite(x) ? `${x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : Math.round(x)} ms` : 'n/a');
const fmtRatio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a');

const rows = []; // { bench, subject, result, baseline, ratio, goal, met }
const details = [];
const failures = [];
const add = (row) => {
  rows.push(row);
  log(`  → ${row.subject}: ${row.result}${row.ratio ? ` (${row.ratio} ${row.baseline ? `vs ${row.baseline}` : ''})` : ''}`);
};
const goalMark = (met) => (met === undefined ? '' : met ? 'met' : '**not met**');

/** Alternates the subjects A B C A B C ..., `runs` rounds, collecting each subject's results. */
async function alternate(name, subjects, runs, runOne) {
  const out = Object.fromEntries(subjects.map((s) => [s, []]));
  for (let r = 0; r < runs; r++) {
    if (r > 0 && overBudget()) {
      log(`${name}: time budget reached, stopping after ${r} rounds`);
      break;
    }
    for (const s of subjects) {
      const res = await runOne(s, r);
      out[s].push(res);
      log(`${name} ${r + 1}/${runs} ${s}: ${res.summary ?? ''}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- 1. resolution

async function benchResolution() {
  const { runs, ms } = CFG.resolution;
  const impls = HAVE_LIB ? ['inversify', 'quiesce'] : ['inversify'];
  for (const mode of ['transient', 'singleton']) {
    const res = await alternate(`resolution/${mode}`, impls, runs, async (impl) => {
      const r = await runChild('resolution.js', ['--impl', impl, '--mode', mode, '--ms', String(ms)], { timeoutMs: ms * 2 + 30_000 });
      return { ...r, summary: `${fmtInt(r.opsPerCpuSec)} ops per CPU-s (${fmtInt(r.opsPerSec)} per wall-s)` };
    });
    const base = median(res.inversify.map((r) => r.opsPerCpuSec));
    const what = mode === 'transient' ? 'transient root of a 100-class DAG' : 'singleton';
    add({ bench: '1. Resolution', subject: `raw inversify: ${what}`, result: `${fmtInt(base)} ops/CPU-s`, baseline: '', ratio: '1.00×', goal: 'baseline' });
    if (res.quiesce) {
      const q = median(res.quiesce.map((r) => r.opsPerCpuSec));
      const ratio = paired(res.inversify, res.quiesce, 'opsPerCpuSec');
      add({ bench: '1. Resolution', subject: `quiesce \`app.get\`: ${what}`, result: `${fmtInt(q)} ops/CPU-s`, baseline: 'raw inversify', ratio: fmtRatio(ratio), goal: '≥ 0.90×', met: ratio >= 0.9 });
    }
    details.push(`resolution/${mode} ops per CPU-second per run: ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => fmtInt(r.opsPerCpuSec)).join(', ')}]`).join('; ')}; per wall-second: ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => fmtInt(r.opsPerSec)).join(', ')}]`).join('; ')}`);
  }
}

// ---------------------------------------------------------------- 2. bootstrap

async function benchBootstrap() {
  const { runs, iters } = CFG.bootstrap;
  const impls = HAVE_LIB ? ['nest', 'quiesce', 'inversify'] : ['nest', 'inversify'];
  const res = await alternate('bootstrap', impls, runs, async (impl) => {
    const r = await runChild('bootstrap.js', ['--impl', impl, '--iters', String(iters)], { timeoutMs: 90_000 });
    return { ...r, summary: `${fmtMs(r.ms)} (first in process ${fmtMs(r.first)})` };
  });
  // first = the one bootstrap of a fresh process (what a service pays at startup: framework code runs cold);
  // repeated = the median of the later ones in the same process (e.g. a test suite creating many apps)
  for (const [key, label] of [
    ['first', 'first in a fresh process'],
    ['ms', `repeated in one process (median of ${iters} after the first)`],
  ]) {
    const what = `1,000 providers, 10 modules, ${label}`;
    const nest = median(res.nest.map((r) => r[key]));
    add({ bench: '2. Bootstrap', subject: `NestJS \`createApplicationContext\`: ${what}`, result: `${fmtMs(nest)} CPU`, baseline: '', ratio: '1.00×', goal: 'baseline' });
    if (res.quiesce) {
      const q = median(res.quiesce.map((r) => r[key]));
      const ratio = paired(res.nest, res.quiesce, key);
      add({ bench: '2. Bootstrap', subject: `quiesce \`bootstrap\` (validate, create, init): ${what}`, result: `${fmtMs(q)} CPU`, baseline: 'NestJS', ratio: fmtRatio(ratio), goal: '≤ 0.50×', met: ratio <= 0.5 });
    }
    const inv = median(res.inversify.map((r) => r[key]));
    add({ bench: '2. Bootstrap', subject: `raw inversify (bind + get all): ${what}`, result: `${fmtMs(inv)} CPU`, baseline: 'NestJS', ratio: fmtRatio(paired(res.nest, res.inversify, key)), goal: '' });
  }
  details.push(`bootstrap CPU ms per run (median of ${iters} in-process iterations after 1 warm-up; first = the cold one): ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => `${r.ms.toFixed(1)} (first ${r.first.toFixed(0)})`).join(', ')}]`).join('; ')}`);
  details.push(`bootstrap wall ms, medians of runs: ${Object.entries(res).map(([k, v]) => `${k} ${median(v.map((r) => r.wallMs)).toFixed(1)} (first ${median(v.map((r) => r.firstWall)).toFixed(0)})`).join('; ')}`);
}

// ---------------------------------------------------------------- 3. HTTP

async function benchHttp() {
  const { runs, duration, warmup, connections } = CFG.http;
  const servers = {};
  try {
    log('http: starting servers');
    // quick mode: one quiesce server (with the request-scoped route) serves both quiesce comparisons
    const defs = { fastify: ['servers/fastify.js', ['--probe']], nest: ['servers/nest.js', ['--probe']] };
    if (HAVE_LIB) {
      if (!QUICK) defs.quiesce = ['servers/quiesce.js', ['--probe']];
      defs['quiesce+req'] = ['servers/quiesce.js', ['--req', '--probe']];
    }
    await Promise.all(Object.entries(defs).map(async ([k, [script, args]]) => (servers[k] = await startServer(script, args))));
    if (QUICK && HAVE_LIB) servers.quiesce = servers['quiesce+req'];
    const targets = { fastify: [servers.fastify, '/json'], nest: [servers.nest, '/json'] };
    if (HAVE_LIB) {
      targets.quiesce = [servers.quiesce, '/json'];
      if (!QUICK) targets['quiesce+req /json'] = [servers['quiesce+req'], '/json'];
      targets['quiesce+req /json-req'] = [servers['quiesce+req'], '/json-req'];
    }
    const load = (url, d, w) => runChild('load.js', ['--url', url, '--duration', String(d), '--warmup', String(w), '--connections', String(connections)], { core: LOAD_CORE, timeoutMs: (d + w) * 1000 + 30_000 });
    for (const [k, [server, path]] of Object.entries(targets)) {
      log(`http: warm-up ${k} (${warmup} s)`);
      const r = await load(server.url + path, warmup, 0);
      checkErrors(`http warm-up ${k}`, r);
    }
    const res = await alternate('http', Object.keys(targets), runs, async (k) => {
      const [server, path] = targets[k];
      const cpu0 = await cpuOf(server);
      const r = await load(server.url + path, duration, 0);
      const cpuUsPerReq = ((await cpuOf(server)) - cpu0) / r.total;
      checkErrors(`http ${k}`, r);
      return { ...r, cpuUsPerReq, summary: `${fmtInt(r.rps)} req/s, p99 ${r.p99} ms, server CPU ${cpuUsPerReq.toFixed(1)} µs/req` };
    });
    const rps = (k) => median(res[k].map((r) => r.rps));
    const base = rps('fastify');
    const what = `JSON GET, ${connections} connections`;
    add({ bench: '3. HTTP', subject: `bare fastify: ${what}`, result: `${fmtInt(base)} req/s`, baseline: '', ratio: '1.00×', goal: 'baseline' });
    if (HAVE_LIB) {
      const q = rps('quiesce');
      const ratio = paired(res.fastify, res.quiesce, 'rps');
      add({ bench: '3. HTTP', subject: `quiesce (controller + service): ${what}`, result: `${fmtInt(q)} req/s`, baseline: 'bare fastify', ratio: fmtRatio(ratio), goal: '≥ 0.95×', met: ratio >= 0.95 });
    }
    const n = rps('nest');
    add({ bench: '3. HTTP', subject: `NestJS on fastify: ${what}`, result: `${fmtInt(n)} req/s`, baseline: 'bare fastify', ratio: fmtRatio(paired(res.fastify, res.nest, 'rps')), goal: '' });
    if (HAVE_LIB) {
      const plainKey = QUICK ? 'quiesce' : 'quiesce+req /json';
      const plain = rps(plainKey);
      const req = rps('quiesce+req /json-req');
      const ratio = paired(res[plainKey], res['quiesce+req /json-req'], 'rps');
      add({ bench: '3. HTTP', subject: 'quiesce, route with a request-scoped provider (controller per request)', result: `${fmtInt(req)} req/s`, baseline: 'same route without', ratio: fmtRatio(ratio), goal: '≥ 0.80×', met: ratio >= 0.8 });
      details.push(
        QUICK
          ? 'http (quick): one quiesce server, which also has the request-scoped route, serves both quiesce rows'
          : `http: the request-scope pair runs on one server that has both routes; its /json route: ${fmtInt(plain)} req/s (${fmtRatio(paired(res.fastify, res['quiesce+req /json'], 'rps'))} bare fastify)`,
      );
    }
    details.push(`http req/s per run (${duration} s each, after a ${warmup} s warm-up per target): ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => fmtInt(r.rps)).join(', ')}]`).join('; ')}`);
    details.push(`http p99 latency (median of runs): ${Object.entries(res).map(([k, v]) => `${k} ${median(v.map((r) => r.p99))} ms`).join('; ')}`);
    const cpu = (k) => median(res[k].map((r) => r.cpuUsPerReq));
    details.push(`http server CPU per request (user + system, median of runs; less sensitive to other load on the machine than req/s): ${Object.keys(res).map((k) => `${k} ${cpu(k).toFixed(1)} µs (${fmtRatio(cpu(k) / cpu('fastify'))} of bare fastify)`).join('; ')}`);
    for (const k of Object.keys(res).filter((k) => k !== 'fastify' && k !== 'quiesce+req /json')) {
      const label = { nest: 'NestJS', quiesce: 'quiesce', 'quiesce+req /json-req': 'quiesce, request-scoped route' }[k] ?? k;
      add({ bench: '3. HTTP', subject: `server CPU per request, ${label}`, result: `${cpu(k).toFixed(1)} µs`, baseline: `bare fastify ${cpu('fastify').toFixed(1)} µs`, ratio: fmtRatio(paired(res.fastify, res[k], 'cpuUsPerReq')), goal: '' });
    }
  } finally {
    await Promise.all([...new Set(Object.values(servers))].map(stopServer));
  }
}

/** A few errors under load are noted; more than 1% means the server is broken. */
function checkErrors(what, r) {
  if (!r.non2xx && !r.errors) return;
  const msg = `${what}: ${r.non2xx} non-2xx, ${r.errors} errors of ${r.total}`;
  if (r.non2xx + r.errors > 0.01 * Math.max(1, r.total)) throw new Error(msg);
  details.push(msg);
}

let probeId = 0;
/** A server's CPU time so far (µs), asked over IPC. */
function cpuOf(server) {
  const id = ++probeId;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not answer the CPU probe')), 5_000);
    const on = (m) => {
      if (m?.type === 'cpu' && m.id === id) {
        clearTimeout(timer);
        server.off('message', on);
        resolve(m.micros);
      }
    };
    server.on('message', on);
    server.send({ type: 'cpu', id });
  });
}

// ---------------------------------------------------------------- 4. disposal

async function benchDisposal() {
  const { runs, iters, warmup } = CFG.disposal;
  const impls = HAVE_LIB ? ['critical', 'quiesce-graph', 'quiesce-sequential', 'nest'] : ['critical', 'nest'];
  const labels = {
    services: '12 × 100 ms hooks, 6 modules (6 branches of depth 2)',
    layers: '60 × 20 ms hooks, depth 5 (5 modules of 12)',
  };
  for (const graph of ['services', 'layers']) {
    const res = await alternate(`disposal/${graph}`, impls, runs, async (impl) => {
      const r = await runChild('disposal.js', ['--impl', impl, '--graph', graph, '--iters', String(iters), '--warmup', String(warmup)], { timeoutMs: 60_000 });
      return { ...r, summary: fmtMs(r.ms) };
    });
    const ms = (k) => median(res[k].map((r) => r.ms));
    const crit = ms('critical');
    const { criticalPathMs, sumMs } = res.critical[0];
    add({ bench: '4. Disposal', subject: `critical path, measured: ${labels[graph]}`, result: fmtMs(crit), baseline: `theory ${criticalPathMs} ms, sum ${sumMs} ms`, ratio: '1.00×', goal: 'baseline' });
    if (HAVE_LIB) {
      const g = ms('quiesce-graph');
      const s = ms('quiesce-sequential');
      const ratio = paired(res.critical, res['quiesce-graph'], 'ms');
      add({ bench: '4. Disposal', subject: "quiesce `disposeConcurrency: 'graph'`", result: fmtMs(g), baseline: 'critical path', ratio: fmtRatio(ratio), goal: '≤ 1.20×', met: ratio <= 1.2 });
      add({ bench: '4. Disposal', subject: "quiesce `disposeConcurrency: 'sequential'`", result: fmtMs(s), baseline: 'critical path', ratio: fmtRatio(paired(res.critical, res['quiesce-sequential'], 'ms')), goal: `graph/sequential ${fmtRatio(paired(res['quiesce-sequential'], res['quiesce-graph'], 'ms'))}` });
    }
    const n = ms('nest');
    add({ bench: '4. Disposal', subject: 'NestJS `onModuleDestroy`, `app.close()`', result: fmtMs(n), baseline: 'critical path', ratio: fmtRatio(paired(res.critical, res.nest, 'ms')), goal: '' });
    details.push(`disposal/${graph} ms per run: ${Object.entries(res).map(([k, v]) => `${k} [${v.map((r) => r.ms.toFixed(1)).join(', ')}]`).join('; ')}`);
  }
}

// ---------------------------------------------------------------- 5. shutdown under load

/**
 * One server under load, SIGTERM mid-load (sent by the client process). `idle`: the clients send no new
 * request after the signal and keep their connections open and idle until the server is gone (or they
 * give up after `afterMs`), as pooled keep-alive connections of a load balancer that already stopped
 * routing here would.
 */
async function shutdownOnce(impl, idle = false) {
  const script = { quiesce: 'servers/quiesce.js', nest: 'servers/nest.js', fastify: 'servers/fastify.js' }[impl];
  const server = await startServer(script);
  const afterMs = idle ? 12_000 : 15_000;
  let client;
  server.exited.then(() => {
    if (client?.connected) client.send({ type: 'exited' });
  });
  try {
    const { loadMs } = CFG.shutdown;
    const args = ['--url', server.url, '--pid', String(server.pid), '--clients', '50', '--load-ms', String(loadMs), '--after-ms', String(afterMs)];
    if (idle) args.push('--stop-at-signal');
    const r = await runChild('shutdown-client.js', args, { core: LOAD_CORE, timeoutMs: loadMs + afterMs + 25_000, onStart: (c) => (client = c) });
    // the client is done (the server is gone, or the client gave up): make sure the server is gone
    const killer = setTimeout(() => server.kill('SIGKILL'), 5_000);
    const { code, signal } = await server.exited;
    clearTimeout(killer);
    const exitMs = server.exitAt - r.sigAt;
    const gaveUp = exitMs >= afterMs - 50;
    return {
      ...r,
      exitMs,
      gaveUp,
      exitCode: code ?? signal,
      summary: `${r.failedBefore}/${r.sentBefore} lost, exit ${fmtMs(exitMs)}${gaveUp ? ' (only once the clients gave up)' : ''} (code ${code ?? signal}), last response at ${fmtMs(r.lastServedEndMs)}`,
    };
  } finally {
    await stopServer(server);
  }
}

async function benchShutdown() {
  const { runs } = CFG.shutdown;
  const impls = HAVE_LIB ? ['quiesce', 'nest', 'fastify'] : ['nest', 'fastify'];
  const names = { quiesce: 'quiesce (defaults)', nest: 'NestJS on fastify, `enableShutdownHooks`', fastify: 'bare fastify + close-with-grace' };
  const summarize = (bench, res, what) => {
    for (const impl of Object.keys(res)) {
      const rs = res[impl];
      const lost = rs.reduce((s, r) => s + r.failedBefore, 0);
      const sent = rs.reduce((s, r) => s + r.sentBefore, 0);
      const exit = median(rs.map((r) => r.exitMs));
      const served = median(rs.map((r) => r.lastServedEndMs));
      const codes = [...new Set(rs.map((r) => r.exitCode))].join(',');
      const gaveUp = rs.some((r) => r.gaveUp);
      const met = impl === 'quiesce' ? lost === 0 && rs.every((r) => r.exitMs <= r.lastServedEndMs + 100) : undefined;
      add({
        bench,
        subject: `${names[impl]}: ${what}`,
        result: `${lost} / ${sent} lost; exit ${gaveUp ? '≥ ' : ''}${fmtMs(exit)} (code ${codes})`,
        baseline: `last response ${fmtMs(served)}`,
        ratio: gaveUp ? 'held open by idle keep-alive until the clients gave up' : `${exit - served >= 0 ? '+' : '−'}${fmtMs(Math.abs(exit - served))}`,
        goal: impl === 'quiesce' ? '0 lost, ≤ +100 ms' : '',
        met,
      });
      const errs = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.errors)) errs[k] = (errs[k] ?? 0) + v;
      details.push(`${bench} / ${impl}: runs ${rs.map((r) => `[${r.failedBefore}/${r.sentBefore} lost, exit ${r.exitMs.toFixed(0)} ms code ${r.exitCode}, in flight at signal ${r.inFlightAtSignal}, last in-flight done ${r.lastInFlightEndMs.toFixed(0)} ms, last response ${r.lastServedEndMs.toFixed(0)} ms, after signal ${r.afterSignal.ok}/${r.afterSignal.sent} ok]`).join(' ')}${Object.keys(errs).length ? `; failures: ${Object.entries(errs).map(([k, v]) => `${k} ×${v}`).join(', ')}` : ''}`);
    }
  };
  const busy = await alternate('shutdown', impls, runs, (impl) => shutdownOnce(impl));
  summarize('5. Shutdown under load', busy, 'lost / sent ≥ 5 ms before SIGTERM; SIGTERM→exit');
  // 5b. the peers wait out their keep-alive sockets here (seconds), so quick mode runs quiesce only
  const idleImpls = QUICK ? impls.filter((i) => i === 'quiesce') : impls;
  if (idleImpls.length) {
    const idle = await alternate('shutdown/idle', idleImpls, QUICK ? 1 : CFG.shutdown.idleRuns, (impl) => shutdownOnce(impl, true));
    summarize('5b. Shutdown, load stops at SIGTERM', idle, 'same, clients keep idle keep-alive connections open');
  }
}

// ---------------------------------------------------------------- main

const loads = [os.loadavg()[0]];
const benches = { resolution: benchResolution, bootstrap: benchBootstrap, http: benchHttp, disposal: benchDisposal, shutdown: benchShutdown };
log(`${QUICK ? 'quick' : 'full'} run: ${ONLY.join(', ')}; ${pinNote}`);
if (libNote) log(libNote);
for (const [i, name] of ONLY.entries()) {
  log(`[${i + 1}/${ONLY.length}] ${name}`);
  try {
    loads.push(os.loadavg()[0]);
    await benches[name]();
    loads.push(os.loadavg()[0]);
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
    log(`${name} FAILED: ${e.message}`);
  }
}

// ---------------------------------------------------------------- report

function version(pkgDir) {
  try {
    return JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}
let commit = '';
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  if (dirty) commit += ' + uncommitted src changes';
} catch {
  commit = 'unknown';
}
const nm = (p) => join(BENCH, 'node_modules', p);
const versions = [
  `quiesce ${version(ROOT)} (${commit})`,
  `Node ${process.version}`,
  `fastify ${version(nm('fastify'))} (quiesce's own: ${version(join(ROOT, 'node_modules', 'fastify'))})`,
  `inversify ${version(nm('inversify'))}`,
  `NestJS ${version(nm('@nestjs/core'))} (platform-fastify ${version(nm('@nestjs/platform-fastify'))})`,
  `autocannon ${version(nm('autocannon'))}`,
  `close-with-grace ${version(nm('close-with-grace'))}`,
  `undici ${version(nm('undici'))}`,
];
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const date = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const esc = (s) => String(s ?? '').replace(/\|/g, '\\|');
const table = [
  '| Benchmark | Subject | Result | Baseline | Ratio | Goal | |',
  '| --- | --- | ---: | --- | ---: | --- | --- |',
  ...rows.map((r) => `| ${esc(r.bench)} | ${esc(r.subject)} | ${esc(r.result)} | ${esc(r.baseline)} | ${esc(r.ratio)} | ${esc(r.goal)} | ${goalMark(r.met)} |`),
].join('\n');
const runsNote = QUICK
  ? 'QUICK smoke run (2 runs or fewer per figure, 1 s HTTP runs): figures are indicative only; `npm run bench` gives the full ones.'
  : `Medians of ${CFG.resolution.runs} (resolution, ${CFG.resolution.ms} ms each), ${CFG.bootstrap.runs} (bootstrap, each a fresh process), ${CFG.http.runs} (HTTP, ${CFG.http.duration} s each), ${CFG.disposal.runs} (disposal, ${CFG.disposal.iters} iterations each) and ${CFG.shutdown.runs} (shutdown) runs, alternated A B A B.`;
const md = `# quiesce benchmarks

\`npm run bench${QUICK ? ' -- --quick' : ''}\`, ${date}, ${Math.round((performance.now() - t0) / 1000)} s.

${versions.map((v) => `- ${v}`).join('\n')}
- ${NCPU} × ${cpu}, ${os.platform()} ${os.release()}; ${pinNote}
- 1-minute load average during the run: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${NCPU} cores${Math.max(...loads) > NCPU * 0.75 + 1 ? ' — **the machine was busy with other work: throughput figures (HTTP req/s) are unreliable; the CPU-per-request rows are less affected**' : ''}
- ${runsNote} Ratios are against a baseline measured in the same run. Loopback (127.0.0.1) only.
${libNote ? `- ${libNote}\n` : ''}- Goals: ${rows.filter((r) => r.met === true).length} met, ${rows.filter((r) => r.met === false).length} not met${rows.some((r) => r.met === false) ? ` (${rows.filter((r) => r.met === false).map((r) => `${r.bench}: ${r.subject}`).join('; ')})` : ''}.
${failures.length ? `\n**Failed:**\n${failures.map((f) => `- ${esc(f.split('\n')[0])}`).join('\n')}\n` : ''}
${table}

## What is measured

1. **Resolution**: resolutions per CPU-second (user + system time of the process, so that other work on the machine
   disturbs it less; per wall-second in the run details), each run a fresh process pinned to one core. *Transient root*: a
   generated 100-class DAG (90 transient classes as a 4-level tree, each also depending on 3 of 10 shared singletons),
   so one resolve creates 90 objects; *singleton*: an already created singleton. quiesce \`app.get\` vs
   \`Container.get\` of raw inversify over the same decorated classes.
2. **Bootstrap**: 1,000 singleton providers in 10 modules (module *m* imports *m − 1*, 0–3 dependencies each, every
   10th with an init hook), one fresh set of classes per bootstrap; *first in a fresh process* is the bootstrap a
   service pays at startup (imports done, the framework's code still cold), *repeated* the median of the next ones
   in the same process (as in a test suite); quiesce \`bootstrap()\` (validation, creation,
   init) vs NestJS \`createApplicationContext()\` vs raw inversify (bind all, \`get\` all, \`@postConstruct\`).
   CPU time of the process (user + system; wall times in the run details).
3. **HTTP**: \`GET /json\` → \`{"hello":"world"}\` through a controller and a service; autocannon with 50 keep-alive
   connections in its own process on the other core. The request-scope pair: the same route on one quiesce server,
   through a controller that depends on a \`scope: 'request'\` provider vs through a singleton controller.
   *Server CPU per request*: the server process's CPU time over a run divided by the requests served.
   Logging is off in all servers.
4. **Disposal**: time of \`close()\`; hooks sleep (\`setTimeout\`). *Critical path, measured* = an ideal 10-line DAG
   scheduler over the same graph with the same sleeps, in the same kind of process. NestJS destroys module after
   module; within one module its hooks run concurrently unless one provider depends on another (then one at a time).
   The 12-hook graph has a client and a service on top of it in each module, so NestJS runs all 12 one at a time;
   the 60-hook graph has one layer per module, which suits NestJS's module-by-module order.
5. **Shutdown under load**: 50 keep-alive clients (undici, one connection each) loop on \`GET /slow\` (300 ms, then a
   query on a resource that the service closes on destroy). After ${CFG.shutdown.loadMs} ms the client process sends SIGTERM to the server
   process. *Lost* = requests sent ≥ 5 ms before the signal that did not get a 200; *exit* = SIGTERM to the server
   process's exit (measured by the runner; the signal time by the client, both on the machine's clock);
   *last response* = when the client received the last HTTP response of any status (requests sent just after the
   signal may still be served), the longest in-flight tail the server had to wait for. The client's own event-loop
   delay can make this a few ms later than the server's exit. 5b: the same, but the clients send nothing after the
   signal and keep their keep-alive connections open and idle (a load balancer that already stopped routing here);
   they give up after 12 s.

## Run details

${details.map((d) => `- ${d}`).join('\n')}
`;

process.stdout.write(`\n${table}\n\n`);
// a full run of everything is the reference (RESULTS.md, committed); anything else goes beside it
const outFile = join(BENCH, QUICK ? 'RESULTS.quick.md' : flag('--only') ? 'RESULTS.partial.md' : 'RESULTS.md');
writeFileSync(outFile, md);
log(`wrote ${outFile.replace(ROOT + '/', '')}${failures.length ? `; ${failures.length} benchmark(s) failed` : ''}`);
const unmet = rows.filter((r) => r.met === false);
if (failures.length) process.exit(1);
if (STRICT && unmet.length) process.exit(1);
