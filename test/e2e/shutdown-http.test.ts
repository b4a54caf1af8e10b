/**
 * The whole library end to end over HTTP: bootstrap + HttpModule + signal handlers, in a real child
 * process (test/e2e/fixtures/http-app.ts), real SIGTERMs and real keep-alive sockets on 127.0.0.1.
 *
 * Time is compared across the two processes on the host's clock: the child stamps Date.now() into
 * its lines and responses, the test uses now() (epoch ms, monotonic here). Nothing sleeps: the test
 * waits for responses, lines and exits, and every wait and every load loop is bounded.
 */
import { connect } from 'node:net';
import { Pool } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  compileFixtures, now, reapAll, startReady, within, type ChildApp, type Fixtures, type Line,
} from './support/child-app.js';

/** Upper-bound slack for "at once" on a loaded 2-core machine; lower bounds are exact. */
const SLACK_MS = 1_500;

let fixtures: Fixtures;
const pools: Pool[] = [];

beforeAll(() => {
  fixtures = compileFixtures();
});
afterAll(() => fixtures?.remove());
afterEach(async () => {
  reapAll();
  await Promise.all(pools.splice(0).map((pool) => pool.destroy()));
});

function keepAlivePool(url: string, connections: number): Pool {
  const pool = new Pool(url, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 60_000,
    // "no request hangs": anything slower than this fails the request, and the test with it
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
  });
  pools.push(pool);
  return pool;
}

interface Outcome {
  status?: number;
  connection?: string;
  body?: unknown;
  error?: string;
  sentAt: number;
  doneAt: number;
}

async function get(pool: Pool, path: string): Promise<Outcome> {
  const sentAt = now();
  try {
    const response = await pool.request({ method: 'GET', path });
    const text = await response.body.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON
    }
    const connection = response.headers.connection;
    return { status: response.statusCode, connection: typeof connection === 'string' ? connection : undefined, body, sentAt, doneAt: now() };
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    return { error: `${code ?? 'error'}: ${message ?? String(error)}`, sentAt, doneAt: now() };
  }
}

function shutdownLog(child: ChildApp): Promise<Line> {
  return child.waitFor('the SIGTERM shutdown log', (line) => line.signal === 'SIGTERM' && line.action === 'shutdown');
}

describe('zero dropped requests on SIGTERM under keep-alive load', () => {
  const CLIENTS = 40;
  const ROUTE_MS = 300;
  /** The signal goes out once this many responses have come back: every client is then mid-request. */
  const SIGNAL_AFTER_OK = 60;
  /** Bounds each client's loop; with the signal after ~2 rounds, a client sends 3 or 4 requests. */
  const MAX_REQUESTS_PER_CLIENT = 12;
  const ROUNDS = 3;

  interface Sent extends Outcome {
    client: number;
    /** The child's Date.now() when the handler finished (from the 200 body). */
    handlerDoneAt?: number;
  }

  async function round(): Promise<void> {
    const { child, ready } = await startReady(fixtures, 'http-app', { shutdownTimeout: 10_000 });
    const pool = keepAlivePool(String(ready.url), CLIENTS);
    const requests: Sent[] = [];
    let signalAt = Infinity;
    let okBeforeSignal = 0;
    let midLoad!: () => void;
    const reachedMidLoad = new Promise<void>((resolve) => (midLoad = resolve));
    let exited = false;
    void child.exited.then(() => (exited = true));

    const client = async (i: number): Promise<void> => {
      for (let n = 0; n < MAX_REQUESTS_PER_CLIENT && !exited; n++) {
        // the first request's length staggers the clients over the route's 300 ms cycle
        const ms = n === 0 ? 10 + Math.round((i * (ROUTE_MS - 20)) / CLIENTS) : ROUTE_MS;
        const outcome: Sent = { client: i, ...(await get(pool, `/work?ms=${ms}`)) };
        if (outcome.status === 200) outcome.handlerDoneAt = (outcome.body as { doneAt: number }).doneAt;
        requests.push(outcome);
        if (outcome.status === 200 && outcome.doneAt < signalAt && ++okBeforeSignal === SIGNAL_AFTER_OK) midLoad();
        if (outcome.status !== 200) break; // refused, reset or 503: the server is going away
      }
    };
    const clients = Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));

    await within(reachedMidLoad, 10_000, `${SIGNAL_AFTER_OK} responses before the signal`);
    signalAt = child.kill('SIGTERM');
    const exit = await child.waitExit(10_000);
    await within(clients, 10_000, 'every client loop ends');
    const context = JSON.stringify({ exit, signalAt, requests: requests.filter((r) => r.status !== 200) }, null, 1);

    expect(exit, context).toMatchObject({ code: 0, signal: null });

    // every request sent >= 5 ms before the signal got its 200 (the HTTP/1.1 race needs ~1 ms)
    const sentBefore = requests.filter((r) => r.sentAt <= signalAt - 5);
    expect(sentBefore.filter((r) => r.status !== 200), context).toEqual([]);
    // ... and the signal really came mid-load: most clients had a request in flight
    const inFlightAtSignal = sentBefore.filter((r) => r.doneAt > signalAt);
    expect(inFlightAtSignal.length).toBeGreaterThanOrEqual(CLIENTS * 0.75);

    // no request hangs: each one ended (response or error) soon after the child was gone
    for (const r of requests) expect(r.doneAt - r.sentAt, JSON.stringify(r)).toBeLessThan(ROUTE_MS + SLACK_MS);
    expect(requests.filter((r) => r.error?.includes('Timeout')), context).toEqual([]);

    // responses written after the shutdown began carry Connection: close (keep-alive sockets retire)
    const shutdownAt = (await shutdownLog(child)).time as number;
    const lateResponses = requests.filter((r) => r.status === 200 && r.handlerDoneAt! > shutdownAt + 1);
    expect(lateResponses.length).toBeGreaterThan(0);
    for (const r of lateResponses) expect(r.connection, JSON.stringify(r)).toBe('close');

    // the provider behind the route is destroyed only after the last in-flight request finished
    const destroy = await child.event('destroy-start');
    const ok = requests.filter((r) => r.status === 200);
    const lastHandlerDone = Math.max(...ok.map((r) => r.handlerDoneAt!));
    expect(destroy).toMatchObject({ name: 'Work', reason: 'SIGTERM', inFlight: 0, served: ok.length });
    expect(destroy.at as number).toBeGreaterThanOrEqual(lastHandlerDone);
    expect(destroy.at as number).toBeGreaterThanOrEqual(destroy.lastDoneAt as number);

    // the report: the HTTP step first, then Work, all ok
    const report = child.report();
    expect(report).toMatchObject({ reason: 'SIGTERM', ok: true });
    expect(report.steps.map((s) => [s.kind, s.name, s.status])).toEqual([
      ['http', 'http', 'ok'],
      ['destroy', 'Work', 'ok'],
    ]);
    expect(report.steps[1]!.startMs).toBeGreaterThanOrEqual(report.steps[0]!.endMs);

    // and the process is gone soon after the longest in-flight request ends
    expect(exit.at - signalAt).toBeLessThan(ROUTE_MS + SLACK_MS);
  }

  it(`40 keep-alive clients on a 300 ms route: every request sent before SIGTERM gets its 200, ${ROUNDS} times`, async () => {
    for (let i = 0; i < ROUNDS; i++) await round();
  }, 60_000);
});

describe('keep-alive and readiness during shutdown', () => {
  it('an idle keep-alive connection does not delay the exit', async () => {
    const { child, ready } = await startReady(fixtures, 'http-app', { shutdownTimeout: 30_000 });
    const pool = keepAlivePool(String(ready.url), 1);
    const first = await get(pool, '/work?ms=0');
    expect(first).toMatchObject({ status: 200, connection: 'keep-alive' });
    // the connection now sits idle in both the pool and the server

    const signalAt = child.kill('SIGTERM');
    const exit = await child.waitExit(5_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(exit.at - signalAt).toBeLessThan(1_000);
    const report = child.report();
    expect(report.ok).toBe(true);
    expect(report.steps[0]).toMatchObject({ kind: 'http', status: 'ok' });
    // the HTTP step did not wait for the idle socket (fastify's keep-alive timeout is 72 s)
    expect(report.steps[0]!.endMs).toBeLessThan(500);
  });

  it('readiness answers 503 at once on SIGTERM while the app keeps serving during drainDelay', async () => {
    const drainDelay = 1_000;
    const { child, ready } = await startReady(fixtures, 'http-app', { drainDelay, shutdownTimeout: 10_000 });
    const pool = keepAlivePool(String(ready.url), 1);
    expect(await get(pool, '/readyz')).toMatchObject({ status: 200, connection: 'keep-alive' });
    expect(await get(pool, '/healthz')).toMatchObject({ status: 200 });

    const signalAt = child.kill('SIGTERM');
    // Poll readiness from the moment the signal is sent (bounded in count and time): the first
    // answers may still be 200 while the signal is in flight; from the first 503 on, never 200 again.
    const polls: Outcome[] = [];
    for (let i = 0; i < 1_000 && now() - signalAt < 2_000; i++) {
      const poll = await get(pool, '/readyz');
      polls.push(poll);
      if (poll.status === 503) break;
    }
    const flipped = polls.at(-1)!;
    expect(flipped, JSON.stringify(polls)).toMatchObject({ status: 503, connection: 'close' });
    expect(flipped.doneAt - signalAt).toBeLessThan(300);

    // still serving, on new connections (every response carries Connection: close), readiness stays 503
    for (let i = 0; i < 3; i++) {
      expect(await get(pool, '/work?ms=10')).toMatchObject({ status: 200, connection: 'close' });
      expect(await get(pool, '/readyz')).toMatchObject({ status: 503, connection: 'close' });
    }
    const served = now();
    expect(served - signalAt).toBeLessThan(drainDelay);

    const exit = await child.waitExit(10_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    // it kept serving for the whole drainDelay, then stopped promptly
    expect(exit.at - signalAt).toBeGreaterThanOrEqual(drainDelay);
    expect(exit.at - signalAt).toBeLessThan(drainDelay + SLACK_MS);
    const report = child.report();
    expect(report.ok).toBe(true);
    expect(report.steps[0]).toMatchObject({ kind: 'http', status: 'ok' });
    expect(report.steps[0]!.endMs).toBeGreaterThanOrEqual(drainDelay);

    // and once the drain is over nothing answers any more
    const after = await get(pool, '/readyz');
    expect(after.error, JSON.stringify(after)).toBeDefined();
  });

  it('a connection that never sends a request is destroyed at drainTimeout and the HTTP step reports timeout', async () => {
    // fastify's close() would wait for it forever (Node 20 stops enforcing headersTimeout after close)
    const drainTimeout = 300;
    const { child, ready } = await startReady(fixtures, 'http-app', { drainTimeout, shutdownTimeout: 10_000 });
    const { hostname, port } = new URL(String(ready.url));
    const socket = connect(Number(port), hostname);
    const socketClosed = new Promise<number>((resolve) => socket.once('close', () => resolve(now())));
    socket.on('error', () => {}); // a reset is as good as a close here
    await within(new Promise((resolve) => socket.once('connect', resolve)), 5_000, 'TCP connect');

    const signalAt = child.kill('SIGTERM');
    const exit = await child.waitExit(10_000);
    const closedAt = await within(socketClosed, 5_000, 'the silent socket closes');
    expect(closedAt - signalAt).toBeGreaterThanOrEqual(drainTimeout);
    expect(closedAt - signalAt).toBeLessThan(drainTimeout + SLACK_MS);
    // the step that timed out makes the report not ok, hence exit 1; the rest of shutdown still ran
    expect(exit).toMatchObject({ code: 1, signal: null });
    const report = child.report();
    expect(report.steps.map((s) => [s.name, s.status])).toEqual([
      ['http', 'timeout'],
      ['Work', 'ok'],
    ]);
    expect(report.steps[0]!.endMs).toBeGreaterThanOrEqual(drainTimeout);
    expect(report.steps[0]!.endMs).toBeLessThan(drainTimeout + SLACK_MS);
  });
});
