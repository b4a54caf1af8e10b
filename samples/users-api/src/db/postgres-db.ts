import { Pool } from 'pg';
import type { Logger } from 'pino';
import { inject, injectable, LOGGER, onDestroy, onInit } from 'quiesce';
import { CONFIG, type Config } from '../config.js';
import type { Db, SqlParam } from './db.js';
import { createSchemaLocked } from './schema.js';

/** A PostgreSQL server through a `pg` Pool, used when `DATABASE_URL` is set. */
@injectable()
export class PostgresDb implements Db {
  readonly engine = 'postgres';
  readonly #pool: Pool;

  constructor(@inject(CONFIG) config: Config, @inject(LOGGER) log: Logger) {
    this.#pool = new Pool({ connectionString: config.databaseUrl, max: 10 });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.#pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL client failed'));
  }

  /**
   * Fails startup at once when the server is unreachable, and creates the tables if missing. Replicas
   * start together (a rollout, a scale-up, a reboot): the schema step holds an advisory lock, on one
   * connection, so they do not race in the catalog (see schema.ts).
   */
  @onInit()
  async open(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await createSchemaLocked((sql, params) => client.query(sql, params === undefined ? [] : [...params]));
    } finally {
      client.release();
    }
  }

  async query<Row extends object>(sql: string, params: readonly SqlParam[] = []): Promise<Row[]> {
    const result = await this.#pool.query<Row>(sql, [...params]);
    return result.rows;
  }

  /** `end()` waits for checked-out clients; by now every dependent has finished. */
  @onDestroy()
  async close(): Promise<void> {
    await this.#pool.end();
  }
}
