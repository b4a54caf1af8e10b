/**
 * A sample (users-api, orders-worker) as a real child process: compiled against the built library,
 * spawned with a cleaned environment, its pino lines parsed, signalled, awaited. Nothing here sleeps:
 * every wait is for a line or for the exit, and every wait is bounded.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ShutdownReport } from '../../../src/types.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** quiesce's shutdown summary, which carries the report. */
export const REPORT_MSG = /^shutdown finished/;

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Compiles a sample (`tsc -p <dir>`) against the built library in dist/. */
export async function compileSample(dir: string): Promise<void> {
  if (!existsSync(join(REPO_ROOT, 'dist/index.js'))) {
    throw new Error("quiesce is not built: dist/index.js is missing. Run 'npm run build' (npm test does).");
  }
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: REPO_ROOT });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`tsc -p ${relative(REPO_ROOT, dir)} failed:\n${stdout}${stderr}`);
  }
}

/** This process's environment without the variables a sample reads, then `env` on top. */
export function sampleEnv(reads: readonly string[], env: Record<string, string>): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = { ...process.env };
  for (const name of reads) delete result[name];
  return Object.assign(result, env);
}

export interface SpawnOptions {
  /** Names the process in failure messages, e.g. `users-api` or `orders-worker 'first'`. */
  label: string;
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** In its own process group, so `signalGroup` can signal it like a terminal does. */
  detached?: boolean;
}

export class SampleProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  /** Every stdout/stderr line, JSON or not, for failure messages. */
  readonly output: string[] = [];
  readonly exited: Promise<Exit>;
  readonly #label: string;
  readonly #detached: boolean;
  #exit: Exit | undefined;
  #waiters = new Set<() => void>();

  constructor(options: SpawnOptions) {
    this.#label = options.label;
    this.#detached = options.detached ?? false;
    this.child = spawn(options.file, options.args, { cwd: REPO_ROOT, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: this.#detached });
    this.exited = new Promise<Exit>((resolveExit) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolveExit(this.#exit);
        this.#notify();
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream !== null) createInterface({ input: stream }).on('line', (line) => this.#onLine(line));
    }
  }

  /** The first line (seen so far or later) matching `predicate`; rejects at exit or past `timeoutMs`. */
  waitForLine(predicate: (line: LogLine) => boolean, timeoutMs: number, what = 'the expected line'): Promise<LogLine> {
    return new Promise((resolveLine, reject) => {
      const check = (): void => {
        const found = this.lines.find(predicate);
        const exit = this.#exit;
        if (found !== undefined) done(() => resolveLine(found));
        else if (exit !== undefined) done(() => reject(this.failure(`exited (${describeExit(exit)}) before ${what}`)));
      };
      const timer = setTimeout(() => done(() => reject(this.failure(`no ${what} within ${timeoutMs} ms`))), timeoutMs);
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves with the exit, or rejects (and kills the process) past `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.failure(`did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, late]);
    } catch (err) {
      await this.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Signals the whole process group, as a terminal's Ctrl-C does (needs `detached`). */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.#detached || this.child.pid === undefined) throw new Error('signalGroup needs a detached process');
    process.kill(-this.child.pid, signal);
  }

  /** The ShutdownReport the process logged with its shutdown summary (not a startup rollback's), if it did. */
  shutdownReport(): ShutdownReport | undefined {
    const report = (l: LogLine): ShutdownReport | undefined => (REPORT_MSG.test(l.msg ?? '') ? (l.report as ShutdownReport | undefined) : undefined);
    const line = this.lines.find((l) => report(l) !== undefined && report(l)!.reason !== 'startup-rollback');
    return line === undefined ? undefined : report(line);
  }

  /** Lines logged at error level or above (50 = error, 60 = fatal). */
  errors(): LogLine[] {
    return this.lines.filter((l) => (l.level ?? 0) >= 50);
  }

  /** Cleanup: SIGKILL if still running (and whatever its process group left behind), then wait for the exit. */
  async kill(): Promise<void> {
    if (this.#exit === undefined && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
    if (this.#detached && this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // the group is gone: the normal case
      }
    }
  }

  get log(): string {
    return this.output.join('\n');
  }

  failure(what: string): Error {
    return new Error(`${this.#label} ${what}. Output (last 40 lines):\n${this.output.slice(-40).join('\n')}`);
  }

  #onLine(raw: string): void {
    this.output.push(raw);
    if (raw.startsWith('{')) {
      try {
        this.lines.push(JSON.parse(raw) as LogLine);
      } catch {
        // not a pino line: kept in output only
      }
    }
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

export function describeExit(exit: Exit): string {
  return exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
}
