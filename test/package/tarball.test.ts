/**
 * What `npm pack` puts in the tarball (the file list npm computes, with scripts off: dist/ is built by
 * `npm test` first). The consumer apps of fixtures/ install and run the real tarball in .ci/run.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  exports: Record<string, Record<string, { types: string; default: string }>>;
  engines: { node: string };
};

async function packedFiles(): Promise<string[]> {
  const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  const [report] = JSON.parse(stdout) as { files: { path: string }[] }[];
  return report!.files.map((f) => f.path);
}

describe('the package tarball', () => {
  it('builds itself when packed or installed from git (prepare), so a fresh clone packs a working tarball', () => {
    // root cause: dist/ is gitignored and nothing built it, so a fresh clone packed README and package.json only
    // a clean build: outputs of renamed or deleted sources must not ship
    expect(pkg.scripts.prepare).toMatch(/rmSync\('dist'.*&& npm run build$/);
  });

  it('holds both entries, their types, and the sources every .js.map points at', async () => {
    expect(existsSync(join(root, 'dist/index.js')), 'dist/ is missing: run `npm run build`').toBe(true);
    const files = new Set(await packedFiles());
    for (const f of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/index.cjs', 'dist/index.d.cts']) {
      expect(files, f).toContain(f);
    }
    // root cause: the maps pointed at src/*.ts, which the tarball did not ship
    const maps = [...files].filter((f) => f.endsWith('.js.map') || f.endsWith('.cjs.map'));
    expect(maps.length).toBeGreaterThan(10);
    const unresolved: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(root, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const target = normalize(join(dirname(map), source));
        // an incremental build leaves outputs of renamed sources behind; prepare's clean build does not pack them
        if (!existsSync(join(root, target))) continue;
        if (!files.has(target)) unresolved.push(`${map} -> ${target}`);
      }
    }
    expect(unresolved).toEqual([]);
    expect([...files].filter((f) => /^(test|fixtures|samples|bench)\//.test(f) || f.includes('.tsbuildinfo'))).toEqual([]);
  });

  it('exports an import and a require entry, each with its own types', () => {
    const entry = pkg.exports['.']!;
    expect(entry.import).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(entry.require).toEqual({ types: './dist/index.d.cts', default: './dist/index.cjs' });
    // require(esm) is on by default from these releases: the CommonJS entry needs it
    expect(pkg.engines.node).toBe('^20.19.0 || >=22.12.0');
  });

  it('loads through require() as the same module instance that import gives', async () => {
    // root cause: exports had no require condition, so require('quiesce') failed with ERR_PACKAGE_PATH_NOT_EXPORTED
    const script = `
      const viaRequire = require('quiesce');
      import('quiesce').then((viaImport) => {
        console.log(JSON.stringify({ same: viaRequire.bootstrap === viaImport.bootstrap, names: Object.keys(viaRequire).length }));
      });`;
    // run from the repository root: 'quiesce' resolves to this package by self-reference
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: root });
    const result = JSON.parse(stdout) as { same: boolean; names: number };
    expect(result.same).toBe(true);
    expect(result.names).toBeGreaterThan(30);
  });
});
