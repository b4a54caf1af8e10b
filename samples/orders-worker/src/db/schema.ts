import type { Pool } from 'pg';

/**
 * `orders`: one row per order message, keyed on the message id — the idempotency key. A message
 * delivered twice (a redelivery) finds its row and writes nothing.
 * `deliveries`: one row per delivery this worker committed, redeliveries included, so a test (or an
 * operator) can count them: RabbitMQ says `redelivered`, JetStream counts deliveries.
 */
const STATEMENTS = [
  `create table if not exists orders (
     message_id text primary key,
     broker text not null,
     customer text not null,
     amount_cents integer not null,
     stored_by text not null,
     stored_at timestamptz not null default now()
   )`,
  `create table if not exists deliveries (
     id bigint generated always as identity primary key,
     message_id text not null,
     broker text not null,
     worker text not null,
     redelivered boolean not null,
     delivery_count integer,
     stored boolean not null,
     at timestamptz not null default now()
   )`,
  `create index if not exists deliveries_message_id on deliveries (message_id)`,
];

/** Idempotent DDL under an advisory lock: two workers starting together must not race on `create table`. */
export async function createSchema(pool: Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`select pg_advisory_xact_lock(hashtext('orders-worker schema'))`);
    for (const statement of STATEMENTS) await client.query(statement);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
