/**
 * Helpers shared by every benchmark child process.
 * A child reports exactly one result object: over IPC when it has a channel, else as a
 * `@@RESULT <json>` line on stdout. Every child bounds itself with a hard timer.
 */
import { performance } from 'node:perf_hooks';

/** Zero-cost destroy (and init) hooks count here, so that a benchmark can check every one of them ran. */
export const counters = { disposed: 0, inited: 0 };

/** CPU time of this process so far (user + system), in ms. */
export const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** High-resolution epoch milliseconds, comparable across processes on one machine (to ~1 ms). */
export const epochMs = () => performance.timeOrigin + performance.now();

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Deterministic PRNG (mulberry32), so every implementation gets the very same graph. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `--name value` and `--flag` command-line arguments. */
export function args(): Record<string, string> {
  const out: Record<string, string> = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[a.slice(2)] = 'true';
    else out[a.slice(2)] = argv[++i]!;
  }
  return out;
}

export function num(a: Record<string, string>, name: string, dflt: number): number {
  const v = a[name];
  return v === undefined ? dflt : Number(v);
}

/**
 * Resolves once the process has been idle for a moment: no background work left (optimizing compiles,
 * concurrent GC) using more than `busyMs` of CPU in a `stepMs` window, or after `maxMs` in any case.
 * Put between phases, it makes each measured phase pay for the background work it caused, and only that.
 */
export async function untilIdle({ stepMs = 10, busyMs = 1, maxMs = 500 } = {}): Promise<void> {
  const until = performance.now() + maxMs;
  for (let before = cpuMs(); performance.now() < until; ) {
    await sleep(stepMs);
    const now = cpuMs();
    if (now - before < busyMs) return;
    before = now;
  }
}

/** Sends the result to the runner and exits (a child never lingers). */
export function report(result: unknown): void {
  const done = () => process.exit(0);
  if (process.send) process.send({ type: 'result', result }, done);
  else {
    process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`, done);
  }
}

/** A message to the runner; if the runner is gone, it is dropped (no 'error' event, no crash). */
export function message(msg: Record<string, unknown>): void {
  if (process.send) process.send(msg, (err: Error | null) => void err);
  else process.stdout.write(`@@MSG ${JSON.stringify(msg)}\n`);
}

/** Kills this process if it runs longer than `ms` (every loop here is bounded in time as well). */
export function hardTimeout(ms: number, what: string): void {
  setTimeout(() => {
    process.stderr.write(`${what}: hard timeout after ${ms} ms\n`);
    process.exit(3);
  }, ms).unref();
}

/** Same shape as TypeScript's emitted __decorate: class, method or property decorators. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function decorate(decorators: any[], target: any, key?: string | symbol): void {
  if (key === undefined) {
    Reflect.decorate(decorators as ClassDecorator[], target as Function);
  } else {
    const desc = Object.getOwnPropertyDescriptor(target, key);
    const res = Reflect.decorate(decorators as MethodDecorator[], target as object, key, desc);
    if (res && desc) Object.defineProperty(target, key, res);
  }
}

/** A named class whose constructor stores its dependencies (what TS emits for `constructor(private a: A)`). */
export function namedClass(name: string): new (...deps: unknown[]) => { deps: unknown[] } {
  const holder = {
    [name]: class {
      deps: unknown[];
      constructor(...deps: unknown[]) {
        this.deps = deps;
      }
    },
  };
  return holder[name]!;
}

/**
 * Servers answer `{ type: 'cpu' }` with their CPU time so far (µs): CPU per request is robust to noisy
 * neighbours. `{ type: 'cpu', settle: ms }` (the end of a measured phase) first lets the phase's trailing
 * work run (request scopes released after their responses) for `settle` ms, then, when the process runs
 * with --expose-gc, collects the young generation: the garbage of a phase is paid for in that phase, not
 * by whichever phase comes next (without this, the phase after the request-scope routes paid for their
 * garbage and bare fastify, always next in a short run, looked 1.4× dearer than quiesce).
 */
export function serveCpuProbe(always = false): void {
  // only with --probe: a 'message' listener keeps the IPC channel (and so the process) alive
  if (!always && !process.argv.includes('--probe')) return;
  const gc = (globalThis as { gc?: (o?: { type: 'minor' | 'major' }) => void }).gc;
  const answer = (id: number | undefined) => {
    const u = process.cpuUsage();
    process.send?.({ type: 'cpu', id, micros: u.user + u.system }, (err: Error | null) => void err);
  };
  process.on('message', (m: { type?: string; id?: number; settle?: number }) => {
    if (m?.type !== 'cpu') return;
    if (!m.settle) return answer(m.id);
    setTimeout(() => {
      gc?.({ type: 'minor' });
      answer(m.id);
    }, m.settle);
  });
}
