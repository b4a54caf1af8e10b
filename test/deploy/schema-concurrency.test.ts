/**
 * Replicas start together in every deploy tool (a Deployment's first rollout, `docker compose up
 * --scale`, systemd template units after a reboot). The users-api sample creates its tables at startup;
 * on an empty database, two concurrent `create table if not exists` race in the catalog and one of them
 * fails with `duplicate key value violates unique constraint "pg_type_typname_nsp_index"` (issue 15).
 * These tests start several replicas as real child processes at the same instant on a fresh database
 * of a real PostgreSQL and require every one of them to start.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../e2e/support/postgres.js';
import { buildSample, describeExit, ServiceProcess } from '../e2e/support/users-api-process.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const REQUIRE_SERVICES = process.env.QUIESCE_REQUIRE_SERVICES === '1';
const SKIP = DATABASE_URL === undefined && !REQUIRE_SERVICES;
if (SKIP) console.log('users-api schema concurrency: DATABASE_URL is not set, skipping (needs a PostgreSQL server).');

/** Replicas started together. */
const REPLICAS = 3;

const started: ServiceProcess[] = [];
const databases: TestDatabase[] = [];

beforeAll(buildSample, 120_000);

afterEach(async () => {
  await Promise.all(started.splice(0).map((service) => service.kill()));
  await Promise.all(databases.splice(0).map((db) => db.drop()));
});

describe.skipIf(SKIP)('users-api schema step under concurrency (PostgreSQL)', () => {
  it('starts every replica when several start at once on an empty database', async () => {
    if (DATABASE_URL === undefined) throw new Error('QUIESCE_REQUIRE_SERVICES=1 but DATABASE_URL is not set');
    const db = await createTestDatabase(DATABASE_URL, 'users_api_schema');
    databases.push(db);

    // A barrier, so the overlap does not depend on luck: while this session holds pg_type in SHARE mode,
    // a `create table` (which inserts its row type into pg_type under ROW EXCLUSIVE) waits. Once every
    // replica waits on some lock (pg_type itself, or the schema lock of a replica that got there first),
    // the barrier lifts and they all run at the same instant. Without a schema lock all of them are past
    // their `if not exists` check by then, and all but one fail on pg_type_typname_nsp_index.
    await db.query('begin');
    await db.query('lock table pg_catalog.pg_type in share mode');
    const services = Array.from({ length: REPLICAS }, () => new ServiceProcess({ env: { DATABASE_URL: db.url, LOG_LEVEL: 'info' } }));
    started.push(...services);
    const startup = services.map((service) => service.waitForLine((line) => /^users-api listening on /.test(line.msg ?? ''), 60_000));
    for (const promise of startup) promise.catch(() => undefined); // observed below, after the barrier
    try {
      await waitUntil(`${REPLICAS} replicas waiting on a lock`, 30_000, async () => {
        const rows = await db.query<{ n: number }>(
          `select count(distinct pid)::int as n from pg_locks
            where not granted and database = (select oid from pg_database where datname = current_database())`,
        );
        return (rows[0]?.n ?? 0) >= REPLICAS || services.some((service) => !service.running);
      });
    } finally {
      await db.query('commit');
    }

    const outcomes = await Promise.allSettled(startup);
    const failures = outcomes.flatMap((outcome, i) =>
      outcome.status === 'rejected' ? [`replica ${i + 1}: ${firstError(services[i]!, outcome.reason)}`] : [],
    );
    expect(failures, failures.join('\n\n')).toEqual([]);

    // The schema is whole and usable: a write through one replica, a read through another, one audit row.
    const urls = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? String(outcome.value.url) : ''));
    const created = await fetch(`${urls[0]}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Schema', email: 'schema@race.test' }),
    });
    expect(created.status).toBe(201);
    const user = (await created.json()) as { id: number };
    const read = await fetch(`${urls[REPLICAS - 1]}/users/${user.id}`);
    expect(read.status).toBe(200);

    // Every replica stops gracefully (the last audit flush included) with exit code 0.
    for (const service of services) service.signal('SIGTERM');
    const exits = await Promise.all(services.map((service) => service.waitForExit(15_000)));
    expect(exits.map(describeExit)).toEqual(services.map(() => 'code 0'));
    const audit = await db.query<{ n: number }>('select count(*)::int as n from audit_log where user_id = $1', [user.id]);
    expect(audit[0]?.n).toBe(1);
  }, 120_000);
});

/** The replica's first error log line (what made it fail), else the rejection itself. */
function firstError(service: ServiceProcess, reason: unknown): string {
  const line = service.lines.find((l) => (l.level ?? 0) >= 50);
  const err = line?.err as { message?: string } | undefined;
  return line === undefined ? String(reason).slice(0, 400) : `${line.msg ?? ''}: ${err?.message ?? JSON.stringify(line).slice(0, 400)}`;
}

/** Polls `check` every 50 ms until it holds; fails naming `what` past `timeoutMs`. */
async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
