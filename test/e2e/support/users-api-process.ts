/**
 * Runs the users-api sample as a real child process: builds it, spawns it (directly or through
 * `npm start`), parses its pino lines, waits for its startup line, signals it, awaits its exit.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ShutdownReport, ShutdownStep } from '../../../src/types.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SAMPLE_DIR = join(REPO_ROOT, 'samples/users-api');
export const SAMPLE_MAIN = join(SAMPLE_DIR, 'dist/main.js');

/** The sample's startup line (samples/users-api/src/main.ts) and quiesce's shutdown summary, which carries the report. */
export const STARTUP_MSG = /^users-api listening on /;
export const REPORT_MSG = /^shutdown finished/;

/** Variables the sample reads; cleared from the inherited environment unless a test sets them. */
const SAMPLE_ENV = [
  'PORT', 'HOST', 'DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'DATA_DIR',
  'SHUTDOWN_TIMEOUT_MS', 'DRAIN_DELAY_MS', 'LOG_LEVEL',
] as const;

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export type ShutdownReportLine = ShutdownReport;
export type ShutdownStepLine = ShutdownStep;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Compiles the sample (`tsc -p samples/users-api`) against the built library in dist/. */
export async function buildSample(): Promise<void> {
  if (!existsSync(join(REPO_ROOT, 'dist/index.js'))) {
    throw new Error("quiesce is not built: dist/index.js is missing. Run 'npm run build' (npm test does).");
  }
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', SAMPLE_DIR], { cwd: REPO_ROOT });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`tsc -p samples/users-api failed:\n${stdout}${stderr}`);
  }
}

export interface StartOptions {
  /** Environment for the service on top of a cleaned copy of this process's environment. */
  env?: Record<string, string>;
  /** Run this command instead of `node samples/users-api/dist/main.js` (e.g. `npm start`). */
  command?: { file: string; args: string[] };
  /** How long to wait for the startup line. */
  startupTimeoutMs?: number;
  /** Start in its own process group, so `signalGroup` can signal it like a terminal does. */
  detached?: boolean;
}

export class ServiceProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  /** Every stdout/stderr line, JSON or not, for failure messages. */
  readonly output: string[] = [];
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  readonly #detached: boolean;
  #waiters = new Set<() => void>();

  constructor(options: StartOptions) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of SAMPLE_ENV) delete env[name];
    Object.assign(env, { PORT: '0', HOST: '127.0.0.1' }, options.env);
    const { file, args } = options.command ?? { file: process.execPath, args: [SAMPLE_MAIN] };
    this.#detached = options.detached ?? false;
    this.child = spawn(file, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: this.#detached });
    this.exited = new Promise<Exit>((resolveExit) => {
      this.child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolveExit(this.#exit);
        this.#notify();
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => this.#onLine(line));
    }
  }

  static async start(options: StartOptions = {}): Promise<RunningService> {
    const service = new ServiceProcess(options);
    try {
      const line = await service.waitForLine((l) => STARTUP_MSG.test(l.msg ?? ''), options.startupTimeoutMs ?? 30_000);
      if (typeof line.url !== 'string') throw new Error(`startup line without url: ${JSON.stringify(line)}`);
      return Object.assign(service, { url: line.url, pid: typeof line.pid === 'number' ? line.pid : undefined });
    } catch (err) {
      await service.kill();
      throw err;
    }
  }

  /** Resolves with the first line (seen so far or later) matching `predicate`. */
  waitForLine(predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolveLine, reject) => {
      const check = (): void => {
        const found = this.lines.find(predicate);
        const exit = this.#exit;
        if (found !== undefined) done(() => resolveLine(found));
        else if (exit !== undefined) done(() => reject(this.#failure(`exited (${describeExit(exit)}) before the expected line`)));
      };
      const timer = setTimeout(() => done(() => reject(this.#failure(`no expected line within ${timeoutMs} ms`))), timeoutMs);
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
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#failure(`did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
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

  /** The ShutdownReport the service logged, if it did. */
  shutdownReport(): ShutdownReportLine | undefined {
    // the rollback of a failed startup logs a summary too; the app's shutdown is the one with a signal or close reason
    return this.lines.find((l) => REPORT_MSG.test(l.msg ?? '') && (l.report as ShutdownReport | undefined)?.reason !== 'startup-rollback')?.report as ShutdownReportLine | undefined;
  }

  /** Cleanup: SIGKILL if still running, then wait for the exit. */
  async kill(): Promise<void> {
    if (this.#exit === undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    await this.exited;
    if (this.#detached && this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, 'SIGKILL'); // whatever the group leader left behind
      } catch {
        // the group is gone: the normal case
      }
    }
  }

  get log(): string {
    return this.output.join('\n');
  }

  #onLine(raw: string): void {
    this.output.push(raw);
    if (raw.startsWith('{')) {
      try {
        this.lines.push(JSON.parse(raw) as LogLine);
      } catch {
        // not a pino line
      }
    }
    this.#notify();
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #failure(what: string): Error {
    return new Error(`users-api ${what}. Output:\n${this.output.slice(-40).join('\n')}`);
  }
}

export type RunningService = ServiceProcess & { url: string; pid: number | undefined };

export function describeExit(exit: Exit): string {
  return exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
}

/** True while a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
