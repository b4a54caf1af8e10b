/**
 * The users-api sample, end to end: the built service runs as a child process, gets real HTTP
 * requests on 127.0.0.1 and real signals. Embedded (PGlite) tests always run; the PostgreSQL and
 * Redis ones need DATABASE_URL / REDIS_URL and each uses a fresh database.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';
import { UsersApiClient, WriteLoad, type User } from './support/users-api-client.js';
import {
  buildSample, isAlive, ServiceProcess, type RunningService, type ShutdownReportLine, type ShutdownStepLine,
} from './support/users-api-process.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const REDIS_URL = process.env.REDIS_URL || undefined;
/** Set by .ci/run: tests that need PostgreSQL or Redis must run there, not skip. */
const REQUIRE_SERVICES = process.env.QUIESCE_REQUIRE_SERVICES === '1';
const SKIP_POSTGRES = DATABASE_URL === undefined && !REQUIRE_SERVICES;
const SKIP_REDIS = (DATABASE_URL === undefined || REDIS_URL === undefined) && !REQUIRE_SERVICES;
if (SKIP_POSTGRES) {
  console.log('users-api e2e: DATABASE_URL is not set, skipping the PostgreSQL and Redis tests (PGlite tests run).');
} else if (SKIP_REDIS) {
  console.log('users-api e2e: REDIS_URL is not set, skipping the Redis cache tests.');
}

/** The value of a service variable; with QUIESCE_REQUIRE_SERVICES=1 a missing one fails the tests. */
function required(name: 'DATABASE_URL' | 'REDIS_URL', value: string | undefined): string {
  if (value === undefined) throw new Error(`QUIESCE_REQUIRE_SERVICES=1 but ${name} is not set`);
  return value;
}

/** Unique per run: emails, database names and Redis keys never meet an earlier run's. */
const RUN = randomBytes(4).toString('hex');
/** A graceful, signal-started shutdown whose report is ok: exit code 0. */
const CLEAN_EXIT = { code: 0, signal: null };

beforeAll(buildSample, 120_000);

describe('users-api on the embedded database (PGlite)', () => {
  let dataDir: string;
  let service: RunningService;
  let api: UsersApiClient;
  let alice: User;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'users-api-e2e-'));
    // A fresh PGlite directory runs initdb first: a few seconds.
    service = await ServiceProcess.start({ env: { DATA_DIR: dataDir }, startupTimeoutMs: 60_000 });
    api = new UsersApiClient(service.url);
  }, 90_000);

  afterAll(async () => {
    await api?.close();
    await service?.kill();
    if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  });

  /** PGlite is single-process: one service at a time on `dataDir`, even when tests are filtered. */
  async function stopPrevious(): Promise<void> {
    await api?.close();
    if (!service?.running) return;
    service.signal('SIGTERM');
    await service.waitForExit(15_000);
  }

  it('logs its URL at startup and serves readiness and liveness', async () => {
    expect(service.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await api.get('/readyz')).status).toBe(200);
    expect((await api.get('/healthz')).status).toBe(200);
  });

  it('creates a user (201) and reads it back (200)', async () => {
    const created = await api.post<User>('/users', { name: 'Alice', email: `alice-${RUN}@example.test` });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(Number), name: 'Alice', email: `alice-${RUN}@example.test` });
    alice = created.body;

    const read = await api.get<User>(`/users/${alice.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(alice);
  });

  it('answers 404 for an id that names no user', async () => {
    expect((await api.get('/users/999999')).status).toBe(404);
    expect((await api.get('/users/not-a-number')).status).toBe(404);
  });

  it('answers 400 when the body fails the JSON schema', async () => {
    expect((await api.post('/users', { name: 'No Email' })).status).toBe(400);
    expect((await api.post('/users', { name: 'Bad', email: 'not-an-email' })).status).toBe(400);
    expect((await api.post('/users', { name: '', email: `n-${RUN}@example.test` })).status).toBe(400);
    expect((await api.post('/users', {})).status).toBe(400);
  });

  it('answers 409 for an email that is taken', async () => {
    const dup = await api.post<{ message: string }>('/users', { name: 'Alice Again', email: alice.email });
    expect(dup.status).toBe(409);
    expect(dup.body.message).toContain(alice.email);
  });

  it('lists users, honouring ?limit=', async () => {
    expect((await api.post('/users', { name: 'Bob', email: `bob-${RUN}@example.test` })).status).toBe(201);
    const all = await api.get<User[]>('/users');
    expect(all.status).toBe(200);
    expect(all.body.map((u) => u.name)).toEqual(['Alice', 'Bob']);
    expect((await api.get<User[]>('/users?limit=1')).body).toEqual([alice]);
    expect((await api.get('/users?limit=0')).status).toBe(400);
  });

  it('exits 0 on SIGTERM, logging an ok report that destroys HTTP, the writer, then the database', async () => {
    await api.close();
    service.signal('SIGTERM');
    expect(await service.waitForExit(15_000)).toEqual(CLEAN_EXIT);
    const report = service.shutdownReport();
    expect(report, service.log).toBeDefined();
    expect(report?.reason).toBe('SIGTERM');
    expectDestroyOrder(report, { cache: false });
  });

  it('keeps its data across a restart', async () => {
    await stopPrevious();
    service = await ServiceProcess.start({ env: { DATA_DIR: dataDir } });
    api = new UsersApiClient(service.url);
    expect((await api.get<User>(`/users/${alice.id}`)).body).toEqual(alice);
    await api.close();
    service.signal('SIGTERM');
    expect(await service.waitForExit(15_000)).toEqual(CLEAN_EXIT);
  }, 30_000);

  it('runs under `npm start`: a SIGTERM to npm reaches the service, which drains and exits 0, and so does npm', async () => {
    // npm start builds the library and the sample first, then `exec`s node in npm's script shell.
    await stopPrevious();
    service = await ServiceProcess.start({
      command: { file: 'npm', args: ['start'] },
      env: { DATA_DIR: dataDir },
      startupTimeoutMs: 110_000,
    });
    api = new UsersApiClient(service.url);
    expect((await api.get('/users?limit=1')).status).toBe(200);
    await api.close();
    const servicePid = service.pid;
    expect(servicePid).not.toBe(service.child.pid); // the signal goes to npm, not to the service

    service.signal('SIGTERM');
    expect(await service.waitForExit(15_000)).toEqual(CLEAN_EXIT);
    expect(service.shutdownReport()?.ok, service.log).toBe(true);
    expect(service.shutdownReport()?.reason).toBe('SIGTERM');
    expect(isAlive(servicePid!), 'the service outlived npm').toBe(false);
  }, 150_000);

  it("runs under `npm start`: a terminal's Ctrl-C (SIGINT to npm and the service) is one graceful shutdown", async () => {
    await stopPrevious();
    service = await ServiceProcess.start({
      command: { file: 'npm', args: ['start'] },
      env: { DATA_DIR: dataDir },
      startupTimeoutMs: 110_000,
      detached: true,
    });
    const servicePid = service.pid;
    // The terminal signals the foreground process group: npm and the service; npm forwards its copy too.
    service.signalGroup('SIGINT');
    expect(await service.waitForExit(15_000)).toEqual(CLEAN_EXIT);
    expect(service.shutdownReport()?.ok, service.log).toBe(true);
    expect(service.shutdownReport()?.reason).toBe('SIGINT');
    expect(isAlive(servicePid!), 'the service outlived npm').toBe(false);
  }, 150_000);
});

describe.skipIf(SKIP_POSTGRES)('users-api on PostgreSQL', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(required('DATABASE_URL', DATABASE_URL));
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('stores every 201 and one audit row per user when SIGTERM lands under 30 concurrent writers', async () => {
    const service = await ServiceProcess.start({ env: { DATABASE_URL: db.url } });
    try {
      await expectNoLostWriteOnSigterm(service, db, `pg-${RUN}`);
      expectDestroyOrder(service.shutdownReport(), { cache: false });
    } finally {
      await service.kill();
    }
  }, 60_000);

  it('keeps serving for DRAIN_DELAY_MS after SIGTERM, with readiness 503 and Connection: close', async () => {
    const service = await ServiceProcess.start({ env: { DATABASE_URL: db.url, DRAIN_DELAY_MS: '1000' } });
    const api = new UsersApiClient(service.url);
    try {
      expect((await api.get('/readyz')).status).toBe(200);
      service.signal('SIGTERM');
      const readiness = await firstStatus(() => api.get('/readyz'), (status) => status !== 200, 100);
      expect(readiness).toBe(503);

      const late = await api.post<User>('/users', { name: 'Late', email: `late-${RUN}@example.test` });
      expect(late.status).toBe(201);
      expect(late.headers.connection).toBe('close');
      expect(await service.waitForExit(15_000)).toEqual(CLEAN_EXIT);
      expect(await db.query('select id from users where id = $1', [late.body.id])).toHaveLength(1);
    } finally {
      await api.close();
      await service.kill();
    }
  }, 60_000);
});

describe.skipIf(SKIP_REDIS)('users-api on PostgreSQL with a Redis cache', () => {
  const prefix = `users-api-e2e-${RUN}:`;
  let db: TestDatabase;
  let redis: Redis;

  beforeAll(async () => {
    db = await createTestDatabase(required('DATABASE_URL', DATABASE_URL));
    redis = new Redis(required('REDIS_URL', REDIS_URL), { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
  });

  afterAll(async () => {
    if (redis !== undefined) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
    await db?.drop();
  });

  it('reads users through the cache and invalidates an id when a user is created under it', async () => {
    // The fresh database gives id 1 to its first user; a stale entry for id 1 must not survive it.
    await redis.set(`${prefix}user:1`, JSON.stringify({ id: 1, name: 'Stale', email: 'stale@example.test' }));
    const service = await ServiceProcess.start({ env: { DATABASE_URL: db.url, REDIS_URL: required('REDIS_URL', REDIS_URL), REDIS_KEY_PREFIX: prefix } });
    const api = new UsersApiClient(service.url);
    try {
      const created = await api.post<User>('/users', { name: 'Carol', email: `carol-${RUN}@example.test` });
      expect(created.body.id).toBe(1);
      expect(await redis.get(`${prefix}user:1`)).toBeNull();

      expect((await api.get<User>('/users/1')).body).toEqual(created.body);
      expect(JSON.parse((await redis.get(`${prefix}user:1`)) ?? 'null')).toEqual(created.body);

      // Served from Redis: a row changed behind the service's back is not seen until invalidation.
      await db.query(`update users set name = 'Changed' where id = 1`);
      expect((await api.get<User>('/users/1')).body.name).toBe('Carol');
    } finally {
      await api.close();
      service.signal('SIGTERM');
      expect(await service.waitForExit(15_000)).toEqual(CLEAN_EXIT);
    }
  }, 60_000);

  it('loses no write under load and quits Redis after HTTP, the pool after the writer', async () => {
    const service = await ServiceProcess.start({ env: { DATABASE_URL: db.url, REDIS_URL: required('REDIS_URL', REDIS_URL), REDIS_KEY_PREFIX: prefix } });
    try {
      await expectNoLostWriteOnSigterm(service, db, `redis-${RUN}`);
      expectDestroyOrder(service.shutdownReport(), { cache: true });
    } finally {
      await service.kill();
    }
  }, 60_000);
});

/** 30 writers; SIGTERM once 150 users exist; then every 201 must be stored and audited once. */
async function expectNoLostWriteOnSigterm(service: RunningService, db: TestDatabase, tag: string): Promise<void> {
  const [before] = await db.query<{ users: number }>('select count(*)::int as users from users');
  const load = new WriteLoad(service.url, { writers: 30, maxRequestsPerWriter: 200, maxMs: 15_000, emailTag: tag });
  await load.reached(150);
  load.expectRefusals();
  service.signal('SIGTERM');
  const [result, exit] = await Promise.all([load.done, service.waitForExit(15_000)]);

  expect(result.unexpected).toEqual([]);
  expect(exit, service.log).toEqual(CLEAN_EXIT);
  expect(result.refusals.length).toBeGreaterThan(0); // the load really was cut by the shutdown

  const ids = result.created.map((u) => u.id);
  const stored = await db.query<User>('select id, name, email from users where id = any($1::int[]) order by id', [ids]);
  expect(stored).toEqual([...result.created].sort((a, b) => a.id - b.id));
  const [counts] = await db.query<{ users: number; audit: number; audited: number }>(
    `select (select count(*)::int from users) as users,
            (select count(*)::int from audit_log) as audit,
            (select count(distinct user_id)::int from audit_log) as audited`,
  );
  // Drained, not dropped: no request ran without its client getting the answer.
  if (counts?.users !== (before?.users ?? 0) + result.created.length) {
    const answered = new Set(result.created.map((u) => u.id));
    const loaded = await db.query<User>(`select id, name, email from users where email like '%-' || $1 || '@load.test'`, [tag]);
    const unanswered = loaded.filter((u) => !answered.has(u.id));
    const completed201 = service.lines.filter((l) => l.msg === 'request completed' && (l.res as { statusCode?: number } | undefined)?.statusCode === 201).length;
    expect.fail(
      `${unanswered.length} stored user(s) never got a 201 to the client: ${JSON.stringify(unanswered)}; ` +
        `server logged ${completed201} completed 201s, the client saw ${result.created.length}; ` +
        `refusals: ${JSON.stringify(result.refusals)}\n${service.log.split('\n').filter((l) => !l.includes('"reqId"')).join('\n')}`,
    );
  }
  expect(counts?.audit).toBe(counts?.users);
  expect(counts?.audited).toBe(counts?.users);
}

/** Repeats `request` (at most `attempts` times, no pause: each is a round trip) until `done(status)`. */
async function firstStatus(request: () => Promise<{ status: number }>, done: (status: number) => boolean, attempts: number): Promise<number> {
  let status = (await request()).status;
  for (let i = 1; i < attempts && !done(status); i++) status = (await request()).status;
  return status;
}

/** HTTP drains first; the audit writer (and the cache) after it; the database after the writer. */
function expectDestroyOrder(report: ShutdownReportLine | undefined, { cache }: { cache: boolean }): void {
  expect(report).toBeDefined();
  const { steps } = report!;
  expect(steps.filter((s) => s.status !== 'ok')).toEqual([]);
  expect(report!.ok).toBe(true);
  const find = (what: string, match: (s: ShutdownStepLine) => boolean): ShutdownStepLine => {
    const step = steps.find(match);
    expect(step, `${what} step in ${JSON.stringify(steps)}`).toBeDefined();
    return step!;
  };
  const http = find('http', (s) => s.kind === 'http');
  const writer = find('AuditWriter', (s) => s.name === 'AuditWriter');
  const database = find('Db', (s) => s.name === 'Db');
  expect(writer.startMs).toBeGreaterThanOrEqual(http.endMs);
  expect(database.startMs).toBeGreaterThanOrEqual(writer.endMs);
  expect(steps.indexOf(http)).toBeLessThan(steps.indexOf(writer));
  expect(steps.indexOf(writer)).toBeLessThan(steps.indexOf(database));
  const cacheStep = steps.find((s) => s.name === 'UserCache');
  if (cache) {
    expect(cacheStep, JSON.stringify(steps)).toBeDefined();
    expect(cacheStep!.startMs).toBeGreaterThanOrEqual(http.endMs);
  } else {
    expect(cacheStep).toBeUndefined();
  }
}
