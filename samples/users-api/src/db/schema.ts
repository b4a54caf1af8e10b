import type { Db } from './db.js';

/** Idempotent DDL, one statement per entry (PGlite's `query` takes one statement at a time). */
const STATEMENTS = [
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

export async function createSchema(db: Db): Promise<void> {
  for (const statement of STATEMENTS) await db.query(statement);
}
