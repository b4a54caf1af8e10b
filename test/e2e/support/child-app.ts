/**
 * Fixture apps (test/e2e/fixtures/*.ts) as real child processes, for the shutdown end-to-end tests.
 *
 * Node 20 cannot run .ts, and esbuild-based loaders emit no decorator metadata, so the fixtures are
 * transpiled with the TypeScript API and the project's compiler options into `.mjs` files in a
 * temporary directory inside the repository (`.tmp-e2e-*`, not under node_modules): from there
 * `import ... from 'quiesce'` resolves to the built package (dist/) by self-reference.
 *
 * Fixtures talk to the test through stdout, one JSON object per line: their own lines carry an `e2e`
 * key (`ready`, `destroy-start`, `report`, ...), the others are quiesce's pino lines. Nothing here
 * sleeps: every wait is for a line or for the exit, and every wait is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { ShutdownReport } from '../../../src/types.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(ROOT, 'test/e2e/fixtures');
/** Temporary directories are created under ROOT with this prefix (to be gitignored with the pattern `.tmp-e2e-*` followed by a slash). */
export const TMP_PREFIX = '.tmp-e2e-';

/** Epoch ms with sub-ms resolution and monotonic within this process; comparable with the child's Date.now(). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export interface Fixtures {
  /** Absolute path of the compiled fixture `name` (without extension). */
  path(name: string): string;
  remove(): void;
}

/** Transpiles every fixture once. Throws a clear error when the package is not built. */
export function compileFixtures(): Fixtures {
  if (!existsSync(join(ROOT, 'dist/index.js'))) {
    throw new Error("quiesce is not built: dist/index.js is missing. Run 'npm run build' first (npm test does).");
  }
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (file) => readFileSync(file, 'utf8'));
  const { options } = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, ROOT);
  const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: false, declaration: false };
  const dir = mkdtempSync(join(ROOT, TMP_PREFIX));
  try {
    for (const file of readdirSync(FIXTURES).filter((name) => name.endsWith('.ts'))) {
      const name = basename(file, '.ts');
      const { outputText } = ts.transpileModule(readFileSync(join(FIXTURES, file), 'utf8'), {
        fileName: `${name}.mts`,
        compilerOptions,
      });
      writeFileSync(join(dir, `${name}.mjs`), outputText);
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    path(name) {
      const file = join(dir, `${name}.mjs`);
      if (!existsSync(file)) throw new Error(`no fixture test/e2e/fixtures/${name}.ts`);
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface Line {
  /** Set on the fixture's own lines. */
  e2e?: string;
  /** pino lines */
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** now() when the child exited. */
  at: number;
}


export type { ShutdownReport, ShutdownStep } from '../../../src/types.js';

const running = new Set<ChildApp>();

export class ChildApp {
  readonly process: ChildProcess;
  /** Every stdout line that parsed as a JSON object, in order. */
  readonly lines: Line[] = [];
  /** Every stderr line that parsed as a JSON object (e.g. the watchdog's last words). */
  readonly errorLines: Line[] = [];
  /** Every stdout and stderr line, for failure messages. */
  readonly output: string[] = [];
  readonly exited: Promise<Exit>;
  private exit?: Exit;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly name: string,
    file: string,
    config: object,
  ) {
    this.process = spawn(process.execPath, [file, JSON.stringify(config)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(this);
    this.exited = new Promise<Exit>((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exit = { code, signal, at: now() };
        resolve(this.exit);
      });
    });
    // 'close' comes after 'exit' and after the last line of output: only then is a missing line missing.
    this.process.once('close', () => {
      this.closed = true;
      running.delete(this);
      this.notify();
    });
    createInterface({ input: this.process.stdout! }).on('line', (raw) => {
      this.output.push(raw);
      const line = parse(raw);
      if (line) this.lines.push(line);
      this.notify();
    });
    createInterface({ input: this.process.stderr! }).on('line', (raw) => {
      this.output.push(`[stderr] ${raw}`);
      const line = parse(raw);
      if (line) this.errorLines.push(line);
    });
  }

  /** Sends a signal; returns now() at the moment it was sent. */
  kill(signal: NodeJS.Signals): number {
    const at = now();
    this.process.kill(signal);
    return at;
  }

  /** The first line (so far or to come) that matches; rejects if the child's output ends first or after `timeoutMs`. */
  waitFor(what: string, match: (line: Line) => boolean, timeoutMs = 15_000): Promise<Line> {
    return new Promise<Line>((resolve, reject) => {
      const timer = setTimeout(() => done(() => reject(this.failure(`no ${what} within ${timeoutMs} ms`))), timeoutMs);
      const done = (settle: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      const check = (): void => {
        const found = this.lines.find(match);
        if (found !== undefined) done(() => resolve(found));
        else if (this.closed) done(() => reject(this.failure(`exited (${describeExit(this.exit)}) before printing ${what}`)));
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The fixture's own line of this kind. */
  event(kind: string, timeoutMs?: number): Promise<Line> {
    return this.waitFor(`'${kind}' line`, (line) => line.e2e === kind, timeoutMs);
  }

  /** The pino line with this message. */
  log(msg: string | RegExp, timeoutMs?: number): Promise<Line> {
    return this.waitFor(`log '${String(msg)}'`, (line) => typeof line.msg === 'string' && (typeof msg === 'string' ? line.msg === msg : msg.test(line.msg)), timeoutMs);
  }

  /** Every fixture line of this kind seen so far. */
  events(kind: string): Line[] {
    return this.lines.filter((line) => line.e2e === kind);
  }

  /** Every pino line seen so far. */
  logs(): Line[] {
    return this.lines.filter((line) => line.e2e === undefined);
  }

  /** The exit, and all of its output; fails (and kills the child) past `timeoutMs`. */
  async waitExit(timeoutMs = 10_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<void>((resolve) => {
      if (this.closed) resolve();
      else this.process.once('close', () => resolve());
    });
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.failure(`did not exit within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([closed, late]);
      return await this.exited;
    } catch (error) {
      this.reap();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The ShutdownReport the fixture printed (it prints it when app.close() resolves). */
  report(): ShutdownReport {
    const line = this.lines.find((l) => l.e2e === 'report');
    if (!line) throw this.failure('printed no shutdown report');
    return line.report as ShutdownReport;
  }

  /** Kills the child if it still runs (a failed test must not leave it behind). */
  reap(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
  }

  /** An error that carries the child's recent output. */
  failure(what: string): Error {
    return new Error(`fixture ${this.name}: ${what}. Output (last 40 lines):\n${this.output.slice(-40).join('\n')}`);
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function parse(raw: string): Line | undefined {
  if (!raw.startsWith('{')) return undefined;
  try {
    return JSON.parse(raw) as Line;
  } catch {
    return undefined; // not JSON: kept in output only
  }
}

/** Resolves as `promise` does, or rejects with `what` past `ms`: no wait in these tests is unbounded. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

export function describeExit(exit: Exit | undefined): string {
  if (!exit) return 'unknown';
  return exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
}

/** Starts fixture `name` (a compiled file from compileFixtures) with `config` as its JSON argument. */
export function startChild(fixtures: Fixtures, name: string, config: object = {}): ChildApp {
  return new ChildApp(name, fixtures.path(name), config);
}

/** Starts a fixture and waits for its 'ready' line; returns the child and that line. */
export async function startReady(fixtures: Fixtures, name: string, config: object = {}): Promise<{ child: ChildApp; ready: Line }> {
  const child = startChild(fixtures, name, config);
  const ready = await child.event('ready');
  return { child, ready };
}

/** Kills every child still running: for afterEach. */
export function reapAll(): void {
  for (const child of running) child.reap();
}
