/**
 * The orders-worker sample as a real child process: built once with `tsc -p samples/orders-worker`,
 * spawned with `node samples/orders-worker/dist/main.js`, its pino lines parsed, signalled, awaited.
 * Nothing here sleeps: every wait is for a line or for the exit, and every wait is bounded.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ShutdownReport } from '../../../src/types.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const WORKER_DIR = join(REPO_ROOT, 'samples/orders-worker');
export const WORKER_MAIN = join(WORKER_DIR, 'dist/main.js');

/** The worker's startup line (samples/orders-worker/src/main.ts) and quiesce's shutdown summary. */
export const STARTUP_MSG = 'orders-worker consuming';
export const REPORT_MSG = /^shutdown finished/;

/** Variables the worker reads; cleared from the inherited environment unless a test sets them. */
const WORKER_ENV = [
  'DATABASE_URL', 'AMQP_URL', 'AMQP_QUEUE', 'AMQP_PREFETCH', 'NATS_URL', 'NATS_STREAM', 'NATS_SUBJECT',
  'NATS_CONSUMER', 'NATS_BATCH', 'NATS_ACK_WAIT_MS', 'WORK_MS', 'PG_POOL_SIZE', 'SHUTDOWN_TIMEOUT_MS',
  'SHUTDOWN_MODE', 'WORKER_ID', 'LOG_LEVEL',
] as const;

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Compiles the sample against the built library in dist/. */
export async function buildWorker(): Promise<void> {
  if (!existsSync(join(REPO_ROOT, 'dist/index.js'))) {
    throw new Error("quiesce is not built: dist/index.js is missing. Run 'npm run build' (npm test does).");
  }
  const tsc = join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', WORKER_DIR], { cwd: REPO_ROOT });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`tsc -p samples/orders-worker failed:\n${stdout}${stderr}`);
  }
}

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  /** Every stdout/stderr line, JSON or not, for failure messages. */
  readonly output: string[] = [];
  readonly exited: Promise<Exit>;
  #exit: Exit | undefined;
  #waiters = new Set<() => void>();

  private constructor(readonly name: string, env: Record<string, string>) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const key of WORKER_ENV) delete childEnv[key];
    Object.assign(childEnv, env);
    this.child = spawn(process.execPath, [WORKER_MAIN], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
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

  /** Spawns the worker and waits for its startup line. */
  static async start(name: string, env: Record<string, string>, timeoutMs = 20_000): Promise<WorkerProcess> {
    const worker = new WorkerProcess(name, env);
    try {
      await worker.waitForLine(`the startup line '${STARTUP_MSG}'`, (l) => l.msg === STARTUP_MSG, timeoutMs);
      return worker;
    } catch (err) {
      await worker.kill();
      throw err;
    }
  }

  /** The first line (seen so far or later) matching `predicate`; rejects at exit or past `timeoutMs`. */
  waitForLine(what: string, predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine> {
    return new Promise((resolveLine, reject) => {
      const check = (): void => {
        const found = this.lines.find(predicate);
        if (found !== undefined) done(() => resolveLine(found));
        else if (this.#exit !== undefined) done(() => reject(this.failure(`exited (${describeExit(this.#exit!)}) before ${what}`)));
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

  /** The ShutdownReport quiesce logged with 'shutdown finished', if it did. */
  shutdownReport(): ShutdownReport | undefined {
    return this.lines.find((l) => REPORT_MSG.test(l.msg ?? '') && l.report !== undefined)?.report as ShutdownReport | undefined;
  }

  /** Lines logged at error level or above (50 = error, 60 = fatal). */
  errors(): LogLine[] {
    return this.lines.filter((l) => (l.level ?? 0) >= 50);
  }

  /** Cleanup: SIGKILL if still running, then wait for the exit. */
  async kill(): Promise<void> {
    if (this.#exit === undefined && this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  get log(): string {
    return this.output.join('\n');
  }

  failure(what: string): Error {
    return new Error(`orders-worker '${this.name}' ${what}. Output (last 40 lines):\n${this.output.slice(-40).join('\n')}`);
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
