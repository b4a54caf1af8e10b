/**
 * Real child processes for the end-to-end signal tests. vitest intercepts process.exit and
 * signals its own workers, so real signals and exit codes are only ever tested out here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const fixtures = join(root, 'test/process/fixtures');

/** What src/process needs at run time besides itself: the one timer helper and the error catalogue. */
const PROCESS_ROOM_FILES = ['lifecycle/deadline.ts', 'errors.ts'];

/**
 * Compiles src/process, and the few files it imports at run time, to a temporary directory with the
 * same layout as src/ (so relative imports resolve), one file at a time. The children always run the
 * current sources: no dependency on `npm run build` having run, and no stale dist/.
 * Fixtures import `<dir>/process/signals.js`.
 */
export async function compileProcessRoom(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'quiesce-process-'));
  const src = join(root, 'src');
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  const files = [...(await readdir(join(src, 'process'))).filter((name) => name.endsWith('.ts')).map((name) => `process/${name}`), ...PROCESS_ROOM_FILES];
  for (const file of files) {
    const { outputText, diagnostics } = ts.transpileModule(await readFile(join(src, file), 'utf8'), {
      fileName: basename(file),
      reportDiagnostics: true,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    });
    if (diagnostics?.length) throw new Error(`cannot compile src/${file}: ${ts.flattenDiagnosticMessageText(diagnostics[0]?.messageText, '\n')}`);
    await mkdir(join(dir, dirname(file)), { recursive: true });
    await writeFile(join(dir, file.replace(/\.ts$/, '.js')), outputText);
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() when the child exited */
  at: number;
}

export interface Child {
  process: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  stderr(): string;
  /** Resolves with the first stdout line (so far or to come) that matches; rejects if the child exits first. */
  line(match: string | RegExp): Promise<string>;
  /** Sends a signal and returns performance.now() at the moment it was sent. */
  kill(signal: NodeJS.Signals): number;
  exited: Promise<Exit>;
}

export function spawnFixture(fixture: string, args: string[]): Child {
  const child = spawn(process.execPath, [join(fixtures, fixture), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });
  // 'close' comes after 'exit' and after the last stdout line: only then is a missing line missing.
  let closed = false;
  child.on('close', () => {
    closed = true;
    for (const wake of waiters) wake();
  });
  const matches = (line: string, match: string | RegExp) => (typeof match === 'string' ? line === match : match.test(line));

  return {
    process: child,
    lines,
    stderr: () => stderr,
    exited,
    kill(signal) {
      const at = performance.now();
      child.kill(signal);
      return at;
    },
    line(match) {
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          const found = lines.find((line) => matches(line, match));
          if (found !== undefined) {
            waiters.delete(check);
            resolve(found);
          } else if (closed) {
            waiters.delete(check);
            const { exitCode, signalCode } = child;
            reject(new Error(`child exited (${exitCode ?? signalCode}) before printing ${String(match)}; stderr:\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Kills a child a test left running (a failed assertion), so no process outlives the suite. */
export function reap(child: Child | undefined): void {
  if (child && child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
}
