/** Idempotent DDL, one statement per entry (PGlite's `query` takes one statement at a time). */
export const SCHEMA_STATEMENTS = [
  `create table if not exists users (
     id integer generated always as identity primary key,
     name text not null,
     email text not null unique,
     created_at timestamptz not null default now()
   )`,
  `create table if not exists audit_log (
     id bigint generated always as identity primary key,
     user_id integer not null references users (id),
     action text not null,
     at timestamptz not null
   )`,
];

/**
 * Key of the PostgreSQL advisory lock that serialises the schema step across replicas (any constant
 * the database's other applications do not use; this one spells 'usra' in ASCII).
 */
export const SCHEMA_LOCK_KEY = 0x75737261;

/** Runs one SQL statement. */
export type Execute = (sql: string, params?: readonly (string | number)[]) => Promise<unknown>;

/**
 * Creates the tables if missing: for one process alone on its database (PGlite).
 *
 * `create table if not exists` is not safe under concurrency: two sessions that both find the table
 * missing both insert it into the catalog, and one fails with `duplicate key value violates unique
 * constraint "pg_type_typname_nsp_index"`. On a server shared by replicas, use `createSchemaLocked`.
 */
export async function createSchema(execute: Execute): Promise<void> {
  for (const statement of SCHEMA_STATEMENTS) await execute(statement);
}

/**
 * Creates the tables if missing, safely when several replicas start at once on an empty database:
 * one transaction that first takes a transaction-level advisory lock, so the replicas run the DDL one
 * after another and each one after the first finds the tables there. The lock is released by the
 * commit or the rollback; it cannot outlive the transaction, whatever happens to the process.
 * `execute` must run every statement on the same connection (a checked-out client, not the pool).
 */
export async function createSchemaLocked(execute: Execute): Promise<void> {
  await execute('begin');
  try {
    await execute('select pg_advisory_xact_lock($1)', [SCHEMA_LOCK_KEY]);
    await createSchema(execute);
    await execute('commit');
  } catch (err) {
    // A failed rollback (connection lost) changes nothing: the server ends the transaction with it.
    await execute('rollback').catch(() => undefined);
    throw err;
  }
}
