/**
 * Every ```ts block of README.md and samples/*\/README.md compiles with tsc (project settings) against the
 * built package, as a user would copy it, and every complete one also runs: it must exit 0 by itself,
 * or, if it starts a server (fastify's "Server listening at" line), shut down with exit code 0 on SIGTERM.
 * A block marked <!-- ts-fragment --> (see code-blocks.ts) is counted and skipped. Failures name the
 * Markdown file and line.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { extractTsBlocks, readTsBlocks, type CodeBlock } from './code-blocks.js';

const root = new URL('../../', import.meta.url);
const rootPath = root.pathname;
const markdownFiles = [
  'README.md',
  ...readdirSync(new URL('samples/', root), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(new URL(`samples/${d.name}/README.md`, root)))
    .map((d) => `samples/${d.name}/README.md`),
];
const blocks = markdownFiles.flatMap((file) => readTsBlocks(root.href, file));
const complete = blocks.filter((b) => !b.fragment);
const fragments = blocks.length - complete.length;

const where = (b: CodeBlock): string => `${b.file}:${b.line}`;
const fileName = (b: CodeBlock): string => `${b.file.replace(/[/.]/g, '_')}_L${b.line}.ts`;

// inside the repository (not under node_modules) so that `quiesce` resolves to this package by self-reference
const dir = mkdtempSync(join(rootPath, '.tmp-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compile(): { errors: string[]; failing: Set<CodeBlock>; emitted: Map<CodeBlock, string> } {
  const config = ts.readConfigFile(join(rootPath, 'tsconfig.json'), (p) => readFileSync(p, 'utf8'));
  const { options } = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, rootPath);
  const byFile = new Map<string, CodeBlock>();
  for (const block of complete) {
    const file = join(dir, fileName(block));
    // `export {}` last (line numbers unchanged): every block is its own module, as a file of its own would be
    writeFileSync(file, `${block.code}\nexport {};\n`);
    byFile.set(file, block);
  }
  const program = ts.createProgram([...byFile.keys()], {
    ...options,
    noEmit: false,
    rootDir: dir,
    outDir: dir,
    declaration: false,
    sourceMap: false,
    incremental: false,
  });
  const emit = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emit.diagnostics];
  const failing = new Set<CodeBlock>();
  const errors = diagnostics.map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
    const block = d.file && byFile.get(d.file.fileName);
    if (!d.file || d.start === undefined) return `TS${d.code}: ${text}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    if (block) failing.add(block);
    const at = block ? `${block.file}:${block.line + line}:${character + 1}` : `${d.file.fileName}:${line + 1}`;
    return `${at} TS${d.code}: ${text}`;
  });
  const emitted = new Map([...byFile].map(([file, block]) => [block, file.replace(/\.ts$/, '.js')]));
  return { errors: errors.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })), failing, emitted };
}

/** Runs a compiled block: exit 0 by itself, or serve, take SIGTERM and exit 0. */
function run(file: string, block: CodeBlock): Promise<{ code: number | null; output: string; signalled: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd: dir, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let signalled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${where(block)}: the example neither exited nor started a server within 20 s\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (!signalled && output.includes('Server listening at')) {
        signalled = true;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, signalled });
    });
  });
}

describe('README code', () => {
  it('extracts ```ts blocks with the line of their first code line and their fragment marker', () => {
    const md = ['# t', '', '```ts', 'const a = 1;', '```', '', '<!-- ts-fragment -->', '```ts', 'b();', '```', '```sh', 'ls', '```'].join('\n');
    expect(extractTsBlocks('x.md', md)).toEqual([
      { file: 'x.md', line: 4, code: 'const a = 1;', fragment: false },
      { file: 'x.md', line: 9, code: 'b();', fragment: true },
    ]);
  });

  it('finds code blocks in README.md and the samples', () => {
    expect(markdownFiles).toContain('README.md');
    expect(complete.length).toBeGreaterThan(0);
  });

  let compiled: ReturnType<typeof compile> | undefined;
  it(`compiles every complete block with tsc (${complete.length} blocks; ${fragments} marked <!-- ts-fragment --> skipped)`, () => {
    expect(existsSync(join(rootPath, 'dist/index.d.ts')), 'dist/ is missing: run `npm run build` (npm test does it first)').toBe(true);
    mkdirSync(dir, { recursive: true });
    compiled = compile();
    expect(compiled.errors, `README code does not compile:\n${compiled.errors.join('\n')}`).toEqual([]);
  });

  for (const block of complete) {
    it(`runs the example at ${where(block)} (exits 0, or shuts down with 0 on SIGTERM)`, async () => {
      if (!compiled) compiled = compile();
      expect(compiled.failing.has(block), `${where(block)} does not compile (see the compile test)`).toBe(false);
      const file = compiled.emitted.get(block)!;
      expect(existsSync(file), `${where(block)} was not emitted`).toBe(true);
      const { code, output, signalled } = await run(file, block);
      expect(code, `${where(block)} exited with ${String(code)}:\n${output}`).toBe(0);
      // an example that bootstraps an HTTP app must have served, and exited 0 because of SIGTERM
      if (/bootstrap\(/.test(block.code) && /HttpModule/.test(block.code)) expect(signalled, `${where(block)} never listened:\n${output}`).toBe(true);
    });
  }
});
