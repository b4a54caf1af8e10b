import { Module } from 'quiesce';
import type { Config } from '../config.js';
import { Db } from './db.js';
import { PgliteDb } from './pglite-db.js';
import { PostgresDb } from './postgres-db.js';

/** Binds `Db` to PostgreSQL when `DATABASE_URL` is set, else to the embedded PGlite. */
@Module({})
export class DbModule {
  static forRoot(config: Pick<Config, 'databaseUrl'>) {
    return {
      module: DbModule,
      providers: [{ provide: Db, useClass: config.databaseUrl === undefined ? PgliteDb : PostgresDb }],
    };
  }
}
