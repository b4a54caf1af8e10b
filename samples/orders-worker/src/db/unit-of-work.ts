import type { Pool, PoolClient } from 'pg';
import { inject, injectable } from 'quiesce';
import { POOL } from './db.module.js';

/** A value a query parameter may take. */
export type SqlParam = string | number | boolean | Date | null;

/**
 * One database transaction per unit of work (here: per message). Request-scoped: each
 * `app.createScope()` gets its own, and closing the scope disposes it — which returns the client to
 * the pool and rolls back a transaction its owner never committed (a handler that threw). No
 * `finally` in the handlers has to remember that.
 */
@injectable()
export class UnitOfWork implements AsyncDisposable {
  #client: PoolClient | undefined;
  #open = false;

  constructor(@inject(POOL) private readonly pool: Pool) {}

  /** Runs `work` in a transaction and commits it; a throw leaves it to the scope's close to roll back. */
  async transaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
    if (this.#open) throw new Error('UnitOfWork: a transaction is already open in this scope');
    this.#client ??= await this.pool.connect();
    const client = this.#client;
    await client.query('begin');
    this.#open = true;
    const query: Query = async <Row extends object>(sql: string, params: readonly SqlParam[] = []) =>
      (await client.query<Row>(sql, [...params])).rows;
    const result = await work(query);
    await client.query('commit');
    this.#open = false;
    return result;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    if (!this.#open) return client.release();
    this.#open = false;
    try {
      await client.query('rollback');
      client.release();
    } catch (err) {
      client.release(err instanceof Error ? err : true); // a broken connection is not given back to the pool
    }
  }
}

export type Query = <Row extends object = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]) => Promise<Row[]>;
