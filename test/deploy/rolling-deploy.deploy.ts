/**
 * A rolling deploy behind a real nginx, measured (issue 15). `npm run test:deploy`.
 *
 * Per variant: a fresh PostgreSQL database; two replicas on fixed ports on 127.0.0.1; a private nginx
 * (Debian's package, its own prefix in a temporary directory) in front of them with the upstream settings
 * of the issue (keepalive 32, max_fails=1 fail_timeout=2s, proxy_next_upstream error timeout http_503,
 * POST never retried); 16 keep-alive client connections through nginx at ~300 req/s, 60 % GET and 40 %
 * POST; two rolling restarts. Then every response and every acknowledged write (POST 201) is checked in
 * PostgreSQL, and a table is printed.
 *
 * The rolling restart modelled: a fixed set of instances behind a static upstream (systemd template
 * units behind nginx, or any deploy that replaces an instance in place). For each replica in turn:
 * SIGTERM; wait for its exit; start the new version on the same port; wait until nginx sends it
 * traffic again (what a readiness gate / minReadySeconds does); next replica. nginx is told nothing:
 * it learns that a replica went away only from refused connections (passive health checks). Capacity
 * drops to one replica between the old one's exit and the new one's return — the harder case.
 *
 * Asserted, for quiesce with the settings of samples/users-api/k8s.yaml (drainDelay, shutdownTimeout):
 * 0 client-visible errors, 0 acknowledged writes missing (and their audit rows present), every replica
 * exits 0. The other variants are measured and printed, not asserted (they are expected to lose).
 * Optional (DEPLOY_VARIANTS=all): process.exit(0), and quiesce behind HAProxy whose active health check
 * reads readiness — the balancer that is told.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_STATEMENTS } from '../../samples/users-api/src/db/schema.js';
import { within } from '../e2e/support/child-app.js';
import { createTestDatabase, type TestDatabase } from '../e2e/support/postgres.js';
import { buildSample, describeExit, REPO_ROOT, ServiceProcess, type Exit } from '../e2e/support/users-api-process.js';
import { Load, type Failure, type LoadResult } from './support/load.js';
import { findHaproxy, Haproxy } from './support/haproxy.js';
import { freePort } from '../support/ports.js';
import { findNginx, Nginx, type AccessLine } from './support/nginx.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const REQUIRE_SERVICES = process.env.QUIESCE_REQUIRE_SERVICES === '1';
const NGINX = findNginx();
const SKIP = (DATABASE_URL === undefined || NGINX === undefined) && !REQUIRE_SERVICES;
if (SKIP) {
  console.log(
    `deploy test: skipped (${DATABASE_URL === undefined ? 'DATABASE_URL is not set' : 'nginx is not installed: apt-get install -y nginx'}).`,
  );
}

/** The shutdown settings the Kubernetes manifest ships with: the asserted variant uses exactly these. */
const K8S = k8sSettings();
const RUN = randomBytes(3).toString('hex');

const LOAD = { connections: 16, rate: 300, getShare: 0.6 } as const;
/** Requests before the first SIGTERM and after the last replacement takes traffic. */
const WARMUP_REQUESTS = 300;
const ROLLING_RESTARTS = 2;
const REPLICAS = 2;

interface Variant {
  key: string;
  label: string;
  /** The replica's command line (the sample, or the baseline server). */
  command: 'sample' | 'naive';
  /** nginx told nothing (passive checks), or HAProxy reading readiness (active checks). */
  balancer: 'nginx' | 'haproxy';
  env: Record<string, string>;
  /** How long a stop may take before the replica is killed and its exit counted as failed. */
  stopTimeoutMs: number;
}

const VARIANTS: Variant[] = [
  {
    key: 'quiesce',
    label: `quiesce, \`drainDelay\` ${K8S.drainDelayMs / 1000} s (as k8s.yaml), nginx told nothing`,
    command: 'sample',
    balancer: 'nginx',
    env: { DRAIN_DELAY_MS: String(K8S.drainDelayMs), SHUTDOWN_TIMEOUT_MS: String(K8S.shutdownTimeoutMs) },
    stopTimeoutMs: K8S.shutdownTimeoutMs + 5_000,
  },
  {
    key: 'quiesce-nodelay',
    label: 'quiesce, `drainDelay` 0, nginx told nothing',
    command: 'sample',
    balancer: 'nginx',
    env: { DRAIN_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: String(K8S.shutdownTimeoutMs) },
    stopTimeoutMs: K8S.shutdownTimeoutMs + 5_000,
  },
  {
    key: 'naive-close',
    label: 'fastify.close() then pool.end(), nginx told nothing',
    command: 'naive',
    balancer: 'nginx',
    env: { NAIVE_MODE: 'close' },
    stopTimeoutMs: 15_000,
  },
  {
    key: 'naive-exit',
    label: 'process.exit(0), nginx told nothing',
    command: 'naive',
    balancer: 'nginx',
    env: { NAIVE_MODE: 'exit' },
    stopTimeoutMs: 15_000,
  },
  {
    key: 'quiesce-haproxy',
    label: 'quiesce, `drainDelay` 3 s, HAProxy checking `/readyz` every 1 s (told through readiness)',
    command: 'sample',
    balancer: 'haproxy',
    env: { DRAIN_DELAY_MS: '3000', SHUTDOWN_TIMEOUT_MS: String(K8S.shutdownTimeoutMs) },
    stopTimeoutMs: K8S.shutdownTimeoutMs + 5_000,
  },
];
/**
 * DEPLOY_VARIANTS=quiesce,naive-close runs a subset, `all` every variant (the assertion runs whenever
 * `quiesce` does). The default leaves out naive-exit, to stay near two minutes.
 */
const DEFAULT_VARIANTS = 'quiesce,quiesce-nodelay,naive-close';
const SELECTED = (process.env.DEPLOY_VARIANTS === 'all' ? VARIANTS.map((v) => v.key).join(',') : (process.env.DEPLOY_VARIANTS ?? DEFAULT_VARIANTS))
  .split(',')
  .map((key) => key.trim())
  .filter((key) => key !== '');
for (const key of SELECTED) {
  if (!VARIANTS.some((v) => v.key === key)) throw new Error(`DEPLOY_VARIANTS: unknown variant '${key}' (known: ${VARIANTS.map((v) => v.key).join(', ')})`);
}

interface ReplicaExit {
  /** 'A1' = replica slot A, first process on it */
  replica: string;
  exit: Exit | 'killed';
  stopMs: number;
}

interface Measurement {
  variant: Variant;
  load: LoadResult;
  getErrors: Failure[];
  postErrors: Failure[];
  ackedMissing: number;
  auditMissing: number;
  committedAnyway: number;
  exits: ReplicaExit[];
  durationMs: number;
  nginxErrors: string[];
}

const measurements: Measurement[] = [];
let naiveServer: { path: string; remove(): void } | undefined;

function progress(event: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), test: 'deploy', event, ...fields }));
}

describe.skipIf(SKIP)('rolling deploy of two replicas behind a load balancer', () => {
  beforeAll(async () => {
    await buildSample();
    naiveServer = compileNaiveServer();
  }, 120_000);

  afterAll(() => {
    naiveServer?.remove();
    if (measurements.length > 0) console.log(`\n${table(measurements)}\n`);
  });

  for (const variant of VARIANTS.filter((v) => SELECTED.includes(v.key))) {
    if (variant.key === 'quiesce') {
      it(`loses nothing with the k8s.yaml settings: 0 client-visible errors, 0 acknowledged writes missing, every replica exits 0 (drainDelay ${K8S.drainDelayMs} ms, shutdownTimeout ${K8S.shutdownTimeoutMs} ms)`, async () => {
        // Root causes seen here (issue 15), each fixed in the HTTP drain: requests on connections accepted just
        // before the listener closed got fastify's 503, which nginx does not retry for a POST (they are served
        // now); connections the kernel had completed but node had not accepted yet were reset by the listener's
        // close after nginx sent the request (502, "recv() failed (104: Connection reset by peer)"): the drain
        // now closes the listener right after a short turn of the event loop that accepted nothing.
        const m = await measure(variant);
        expect(m.getErrors.map(describeFailure), 'client-visible GET errors').toEqual([]);
        expect(m.postErrors.map(describeFailure), 'client-visible POST errors').toEqual([]);
        expect(m.ackedMissing, 'acknowledged writes missing in PostgreSQL').toBe(0);
        expect(m.auditMissing, 'acknowledged writes without exactly one audit row').toBe(0);
        expect(m.exits.map((e) => `${e.replica}: ${describeStop(e.exit)}`)).toEqual(m.exits.map((e) => `${e.replica}: code 0`));
      }, 300_000);
    } else {
      it(`measures: ${variant.label}`, async () => {
        await measure(variant);
      }, 300_000);
    }
  }
});

/** Runs one variant from a fresh database to the verification in PostgreSQL. */
async function measure(variant: Variant): Promise<Measurement> {
  const started = Date.now();
  const replicas: ServiceProcess[] = [];
  const all: ServiceProcess[] = [];
  const exits: ReplicaExit[] = [];
  /** Requests completed between each SIGTERM and its replacement taking traffic. */
  const underLoad: number[] = [];
  let db: TestDatabase | undefined;
  let nginx: Nginx | undefined;
  let haproxy: Haproxy | undefined;
  let load: Load | undefined;
  try {
    db = await createTestDatabase(required(DATABASE_URL, 'DATABASE_URL'), 'users_api_deploy');
    if (variant.command === 'naive') for (const statement of SCHEMA_STATEMENTS) await db.query(statement);
    const ports = await distinctPorts(REPLICAS + 1);
    const upstreams = ports.slice(0, REPLICAS);
    const generation = upstreams.map(() => 0);
    const dbUrl = db.url;

    const startReplica = async (slot: number): Promise<ServiceProcess> => {
      generation[slot]! += 1;
      const service = await ServiceProcess.start({
        env: { ...variant.env, DATABASE_URL: dbUrl, PORT: String(upstreams[slot]), LOG_LEVEL: 'info' },
        command: variant.command === 'naive' ? { file: process.execPath, args: [naiveServer!.path] } : undefined,
        startupTimeoutMs: 60_000,
      });
      all.push(service);
      return service;
    };

    progress('variant start', { variant: variant.key, upstreams, [variant.balancer]: ports[REPLICAS] });
    // Both at once, on the empty database (the sample creates its tables: the schema lock at work).
    replicas.push(...(await Promise.all(upstreams.map((_, slot) => startReplica(slot)))));
    let origin: string;
    if (variant.balancer === 'haproxy') {
      haproxy = await Haproxy.start({ binary: required(findHaproxy(), 'haproxy (apt-get install -y haproxy)'), port: ports[REPLICAS]!, upstreams });
      origin = haproxy.origin;
    } else {
      nginx = await Nginx.start({ binary: required(NGINX, 'nginx'), port: ports[REPLICAS]!, upstreams });
      origin = nginx.origin;
    }
    const activeLoad = new Load({ ...LOAD, origin, maxRequests: 80_000, maxMs: 240_000, tag: `${RUN}-${variant.key}` });
    load = activeLoad;
    await within(activeLoad.after(WARMUP_REQUESTS), 30_000, 'warm-up requests through nginx');
    progress('load running', { variant: variant.key, completed: activeLoad.completed });

    for (let round = 1; round <= ROLLING_RESTARTS; round++) {
      for (let slot = 0; slot < REPLICAS; slot++) {
        const old = replicas[slot]!;
        const name = `${slotName(slot)}${generation[slot]}`;
        const signalledAt = Date.now();
        const completedBefore = activeLoad.completed;
        old.signal('SIGTERM');
        const exit = await old.waitForExit(variant.stopTimeoutMs).catch(() => 'killed' as const);
        exits.push({ replica: name, exit, stopMs: Date.now() - signalledAt });
        progress('replica stopped', { variant: variant.key, round, replica: name, exit: describeStop(exit), stopMs: Date.now() - signalledAt, listener: listenerClose(old) });
        const replacement = await startReplica(slot);
        replicas[slot] = replacement;
        progress('replacement started', { variant: variant.key, round, replica: `${slotName(slot)}${generation[slot]}`, sinceSigtermMs: Date.now() - signalledAt });
        // The deploy moves on once the load balancer sends the new replica traffic again.
        await replacement.waitForLine((line) => isProxiedRequest(line), 30_000);
        underLoad.push(activeLoad.completed - completedBefore);
        progress('replacement serving', {
          variant: variant.key,
          round,
          replica: `${slotName(slot)}${generation[slot]}`,
          sinceSigtermMs: Date.now() - signalledAt,
          completed: activeLoad.completed,
          failures: activeLoad.result.failures.length,
        });
      }
    }
    await within(activeLoad.after(WARMUP_REQUESTS), 30_000, 'requests after the last restart');
    const result = await within(activeLoad.stop(), 30_000, 'the load to finish its requests in flight');
    progress('load finished', { variant: variant.key, gets: result.gets, posts: result.posts, failures: result.failures.length, durationMs: result.durationMs });

    // The last replicas stop with no load; their exits count too (and their audit rows are written).
    const finalStops = replicas.map(async (replica, slot) => {
      const signalledAt = Date.now();
      replica.signal('SIGTERM');
      const exit = await replica.waitForExit(variant.stopTimeoutMs).catch(() => 'killed' as const);
      exits.push({ replica: `${slotName(slot)}${generation[slot]}`, exit, stopMs: Date.now() - signalledAt });
    });
    await Promise.all(finalStops);
    await nginx?.stop();
    await haproxy?.stop();

    const access = new Map((await nginx?.accessLog() ?? []).map((line) => [line.id, line]));
    const errorLog = (await nginx?.errorLog()) ?? [];
    const attributed = nginx === undefined ? result.failures : result.failures.map((failure) => attribute(failure, access.get(failure.requestId), errorLog));
    const verification = await verify(db, result, attributed);
    const measurement: Measurement = {
      variant,
      load: result,
      getErrors: attributed.filter((f) => f.method === 'GET'),
      postErrors: attributed.filter((f) => f.method === 'POST'),
      ...verification,
      exits,
      durationMs: Date.now() - started,
      nginxErrors: errorLog.filter((line) => !line.includes('[notice]')),
    };
    measurements.push(measurement);
    progress('variant measured', {
      variant: variant.key,
      requests: result.gets + result.posts,
      ratePerS: Math.round(((result.gets + result.posts) * 1000) / result.durationMs),
      getErrors: measurement.getErrors.length,
      postErrors: measurement.postErrors.length,
      ackedWrites: result.acked.length,
      ackedMissing: measurement.ackedMissing,
      auditMissing: measurement.auditMissing,
      committedAnyway: measurement.committedAnyway,
      exits: exits.map((e) => `${e.replica}:${describeStop(e.exit)}:${e.stopMs}ms`),
      durationMs: measurement.durationMs,
      requestsDuringRestarts: underLoad,
      failures: attributed.slice(0, 12).map(describeFailure),
      nginxErrors: measurement.nginxErrors.length,
    });
    // The measurement means something only if the load really ran through every restart. (The rate it
    // reached is printed, not asserted: on a busy machine the pacing cannot hold 300 req/s.)
    expect(result.acked.length, 'acknowledged writes').toBeGreaterThan(100);
    expect(underLoad.map((n) => n >= 50), `requests completed during each restart: ${underLoad.join(', ')}`).toEqual(underLoad.map(() => true));
    return measurement;
  } finally {
    await load?.stop().catch(() => undefined);
    await Promise.all(all.map((service) => service.kill()));
    await nginx?.stop();
    await nginx?.remove();
    await haproxy?.stop();
    await haproxy?.remove();
    await db?.drop();
  }
}

/** Every acknowledged write is a row with its id and exactly one audit row; failed POSTs that committed anyway are counted. */
async function verify(db: TestDatabase, result: LoadResult, failures: Failure[]): Promise<Pick<Measurement, 'ackedMissing' | 'auditMissing' | 'committedAnyway'>> {
  const users = new Map((await db.query<{ id: number; email: string }>('select id, email from users')).map((u) => [u.email, u.id]));
  const audit = new Map(
    (await db.query<{ user_id: number; n: number }>('select user_id, count(*)::int as n from audit_log group by user_id')).map((r) => [r.user_id, r.n]),
  );
  const ackedMissing = result.acked.filter((w) => users.get(w.email) !== w.id).length;
  const auditMissing = result.acked.filter((w) => audit.get(w.id) !== 1).length;
  const committedAnyway = failures.filter((f) => f.email !== undefined && users.has(f.email)).length;
  return { ackedMissing, auditMissing, committedAnyway };
}

/** Adds what nginx logged for the request: which replicas it tried, what each answered, and why it failed. */
function attribute(failure: Failure, line: AccessLine | undefined, errorLog: readonly string[]): Failure {
  if (line === undefined) return { ...failure, detail: `${failure.detail} [no nginx access line]` };
  const cause = Nginx.cause(errorLog, line);
  return {
    ...failure,
    detail: `${failure.detail} [nginx ${line.status}, upstreams ${line.upstreamAddr} -> ${line.upstreamStatus}${cause === undefined ? '' : `: ${cause}`}]`,
  };
}

function describeFailure(f: Failure): string {
  return `${f.atMs} ms ${f.method} ${f.path} ${f.kind}: ${f.detail}`;
}

function describeStop(exit: Exit | 'killed'): string {
  return exit === 'killed' ? 'killed (did not exit in time)' : describeExit(exit);
}

/** A request line fastify logged for a request nginx forwarded (the test sends nothing to replicas directly). */
function isProxiedRequest(line: { msg?: string; [key: string]: unknown }): boolean {
  const req = line.req as { url?: string } | undefined;
  return line.msg === 'incoming request' && typeof req?.url === 'string' && req.url.startsWith('/users');
}

/** How the replica's HTTP drain closed its listener (its 'http: listener closed' line), for the progress log. */
function listenerClose(replica: ServiceProcess): Record<string, unknown> | undefined {
  const line = replica.lines.find((l) => l.msg === 'http: listener closed');
  if (line === undefined) return undefined;
  const { waitedMs, turns, lastTurnUs, quietTurn } = line as Record<string, unknown>;
  return { waitedMs, turns, lastTurnUs, quietTurn };
}

function slotName(slot: number): string {
  return String.fromCharCode(65 + slot);
}

/** The markdown table of the issue, from this run's measurements. */
export function table(results: Measurement[]): string {
  const rows = results.map((m) => {
    const requests = `${m.load.gets} / ${m.load.posts}`;
    const ok = m.exits.filter((e) => e.exit !== 'killed' && e.exit.code === 0).length;
    const slowest = Math.max(...m.exits.map((e) => e.stopMs));
    const missing = m.auditMissing === 0 ? String(m.ackedMissing) : `${m.ackedMissing} (${m.auditMissing} without their audit row)`;
    return `| ${m.variant.label} | ${requests} | ${errors(m.getErrors, 0)} | ${errors(m.postErrors, m.committedAnyway)} | ${missing} | ${ok} of ${m.exits.length} | ${(slowest / 1000).toFixed(1)} s |`;
  });
  return [
    `Rolling deploy behind nginx unless the row says otherwise (${LOAD.connections} keep-alive connections, ${rates(results)} req/s achieved of ${LOAD.rate} paced, ${LOAD.getShare * 100}% GET, ${ROLLING_RESTARTS} rolling restarts of ${REPLICAS} replicas, PostgreSQL):`,
    '',
    '| variant | requests (GET / POST) | GET errors | POST errors | acked writes missing | replica exits 0 | slowest stop |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function rates(results: Measurement[]): string {
  const each = results.map((m) => Math.round(((m.load.gets + m.load.posts) * 1000) / m.load.durationMs));
  return `${Math.min(...each)}–${Math.max(...each)}`;
}

function errors(failures: Failure[], committedAnyway: number): string {
  if (failures.length === 0) return '0';
  const kinds = new Map<string, number>();
  for (const f of failures) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  const list = [...kinds].map(([kind, n]) => (n === 1 ? kind.replace(/^HTTP /, '') : `${kind.replace(/^HTTP /, '')} ×${n}`)).join(', ');
  return `${failures.length} (${list})${committedAnyway > 0 ? `; ${committedAnyway} committed anyway` : ''}`;
}

/** DRAIN_DELAY_MS and SHUTDOWN_TIMEOUT_MS as samples/users-api/k8s.yaml sets them. */
function k8sSettings(): { drainDelayMs: number; shutdownTimeoutMs: number } {
  const manifest = readFileSync(join(REPO_ROOT, 'samples/users-api/k8s.yaml'), 'utf8');
  const value = (name: string): number => {
    const match = new RegExp(`name: ${name}, value: "(\\d+)"`).exec(manifest);
    if (match === null) throw new Error(`samples/users-api/k8s.yaml: no env entry '{ name: ${name}, value: "<ms>" }'`);
    return Number(match[1]);
  };
  return { drainDelayMs: value('DRAIN_DELAY_MS'), shutdownTimeoutMs: value('SHUTDOWN_TIMEOUT_MS') };
}

/** The baseline server, transpiled like the e2e fixtures (decorator-free, but TypeScript). */
function compileNaiveServer(): { path: string; remove(): void } {
  const config = ts.readConfigFile(join(REPO_ROOT, 'tsconfig.json'), (file) => readFileSync(file, 'utf8'));
  const { options } = ts.convertCompilerOptionsFromJson(config.config.compilerOptions, REPO_ROOT);
  const source = readFileSync(join(REPO_ROOT, 'test/deploy/naive-server.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: 'naive-server.mts',
    compilerOptions: { ...options, sourceMap: false, inlineSourceMap: false, declaration: false },
  });
  // Inside the repository, so `fastify` and `pg` resolve from its node_modules (.tmp-*/ is gitignored).
  const dir = mkdtempSync(join(REPO_ROOT, '.tmp-deploy-'));
  const path = join(dir, 'naive-server.mjs');
  writeFileSync(path, outputText);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function distinctPorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < n && attempt < 50; attempt++) ports.add(await freePort());
  if (ports.size < n) throw new Error(`could not find ${n} free ports on 127.0.0.1`);
  return [...ports];
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`QUIESCE_REQUIRE_SERVICES=1 but ${name} is missing`);
  return value;
}
