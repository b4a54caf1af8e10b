/**
 * The explicit prepare step the runner calls before any suite: installs this folder's own dependencies
 * (when missing or older than the lockfile), builds the library (when src/ is newer than dist/) and the
 * benchmark children (tsc -p bench), and finds the cores to pin to. Nothing here runs at import time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH = dirname(dirname(fileURLToPath(import.meta.url)));
export const ROOT = dirname(BENCH);
export const DIST = join(BENCH, 'dist');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Runs a command to completion; throws with its output when it fails. */
function sh(log, what, cmd, args, cwd) {
  log(`prepare: ${what}: ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status ?? r.signal}):\n${(r.stdout + r.stderr).slice(-4000)}`);
}

/** The CPUs this process may run on (from taskset), or null without taskset. */
function allowedCpus() {
  const r = spawnSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const cpus = [];
  for (const part of r.stdout.split(':').pop().trim().split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a) && cpus.length < 64; c++) cpus.push(c);
  }
  return cpus.filter((c) => Number.isInteger(c));
}

/**
 * @param {{ install: boolean, build: boolean, log: (msg: string) => void }} opts
 * @returns the environment every suite gets: paths, whether the library is built, cores, notes
 */
export function prepare({ install, build, log }) {
  const t0 = Date.now();
  const lock = join(BENCH, 'package-lock.json');
  const installed = join(BENCH, 'node_modules', '.package-lock.json');
  if (install && (!existsSync(installed) || statSync(lock).mtimeMs > statSync(installed).mtimeMs + 1000)) {
    sh(log, 'bench dependencies (NestJS, autocannon, undici, ...; not the library\'s)', npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], BENCH);
  }
  const libDist = join(ROOT, 'dist', 'index.js');
  if (build && existsSync(join(ROOT, 'src', 'index.ts'))) {
    if (!existsSync(join(ROOT, 'node_modules', '.package-lock.json'))) sh(log, 'library dependencies', npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], ROOT);
    if (!existsSync(libDist) || newestMtime(join(ROOT, 'src')) > statSync(libDist).mtimeMs) sh(log, 'library build', npm, ['run', 'build', '--silent'], ROOT);
    else log('prepare: library build is up to date');
  }
  const haveLib = existsSync(libDist);
  const stamp = join(DIST, 'run-stamp');
  const inputs = Math.max(newestMtime(join(BENCH, 'src')), statSync(join(BENCH, 'tsconfig.json')).mtimeMs, haveLib ? statSync(join(ROOT, 'dist', 'index.d.ts')).mtimeMs : 0);
  if (build && (!existsSync(stamp) || statSync(stamp).mtimeMs < inputs)) {
    log('prepare: bench build: tsc -p bench');
    const tsc = join(BENCH, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(BENCH, 'tsconfig.json')], { cwd: BENCH, encoding: 'utf8', timeout: 5 * 60_000 });
    // without the library's build its imports fail to type-check; tsc still emits the baselines, which run
    if (r.status !== 0 && haveLib) throw new Error(`bench build failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
    if (r.status === 0) writeFileSync(stamp, '');
    else log('prepare: bench build: type errors ignored, the library is not built (the quiesce rows are skipped)');
  }
  const cpus = allowedCpus();
  const pinned = cpus !== null && cpus.length >= 2;
  const env = {
    haveLib,
    libNote: haveLib ? '' : 'quiesce is not built (no dist/index.js): its rows are missing',
    ncpu: cpus?.length ?? os.availableParallelism?.() ?? os.cpus().length,
    pinned,
    serverCore: pinned ? String(cpus[0]) : undefined,
    loadCore: pinned ? String(cpus[1]) : undefined,
  };
  env.pinNote = pinned
    ? `servers and micro-benchmarks on CPU ${env.serverCore}, load generators on CPU ${env.loadCore} (taskset)`
    : `NOT pinned (${cpus === null ? 'taskset not available' : 'fewer than 2 CPUs'}): server and load generator share cores`;
  log(`prepare: done in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${env.pinNote}`);
  return env;
}
