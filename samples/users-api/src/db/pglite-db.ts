import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { inject, injectable, onDestroy, onInit } from 'quiesce';
import { CONFIG, type Config } from '../config.js';
import type { Db, SqlParam } from './db.js';
import { createSchema } from './schema.js';

/** Embedded PostgreSQL (WASM) with its files in `DATA_DIR`: the default, no server to install. */
@injectable()
export class PgliteDb implements Db {
  readonly engine = 'pglite';
  #pg: PGlite | undefined;

  constructor(@inject(CONFIG) private readonly config: Config) {}

  @onInit()
  async open(): Promise<void> {
    await mkdir(this.config.dataDir, { recursive: true });
    this.#pg = await PGlite.create({ dataDir: this.config.dataDir });
    // One process owns a PGlite directory: no other session can race this DDL.
    await createSchema((sql) => this.query(sql));
  }

  async query<Row extends object>(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    if (this.#pg === undefined) throw new Error('PgliteDb: query before open() or after close()');
    const result = await this.#pg.query<Row>(sql, [...params]);
    return result.rows;
  }

  /** Runs after every dependent (the audit writer's last flush included) is done. */
  @onDestroy()
  async close(): Promise<void> {
    const pg = this.#pg;
    this.#pg = undefined;
    await pg?.close();
  }
}
