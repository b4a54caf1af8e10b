import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { injectable } from '../../src/index.js';

const root = new URL('../../', import.meta.url).pathname;

describe('decorator metadata', () => {
  it('is emitted under vitest', () => {
    class Db {}
    @injectable() class Users { constructor(readonly db: Db) {} }
    expect(Reflect.getMetadata('design:paramtypes', Users)).toEqual([Db]);
  });

  it('is emitted by tsc with the project settings, and the built package injects by type', async () => {
    const entry = join(root, 'dist/index.js');
    expect(existsSync(entry), 'dist/ is missing: run `npm run build` (npm test does it first)').toBe(true);
    const source = `
      import 'reflect-metadata';
      import { bootstrap, injectable, Module } from 'quiesce';
      class Db { name = 'db'; }
      @injectable() class Users { constructor(readonly db: Db) {} }
      @Module({ providers: [Db, Users] }) class AppModule {}
      const app = await bootstrap(AppModule, { logger: false, signals: false });
      console.log(JSON.stringify({ paramtypes: Reflect.getMetadata('design:paramtypes', Users).map((t: { name: string }) => t.name), db: app.get(Users).db.name }));
      await app.close();
    `;
    const config = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => readFileSync(p, 'utf8'));
    const { options } = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, root);
    const js = ts.transpileModule(source, { fileName: 'smoke.mts', compilerOptions: { ...options, sourceMap: false, declaration: false } }).outputText;
    // inside the repository (not under node_modules) so that `quiesce` resolves to this package by self-reference
    const dir = mkdtempSync(join(root, '.tmp-smoke-'));
    const file = join(dir, 'smoke.mjs');
    writeFileSync(file, js);
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: dir });
      expect(JSON.parse(stdout)).toEqual({ paramtypes: ['Db'], db: 'db' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
