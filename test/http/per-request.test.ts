/**
 * Per-request controllers: the scope from perRequest() is released exactly once, after both the handler
 * has settled and the response is done, and shutdown waits for scopes still alive.
 */
import 'reflect-metadata';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import net from 'node:net';
import { pino } from 'pino';
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { HookTimeoutError } from '../../src/errors.js';
import { Controller, Get, Post } from '../../src/http/controllers.js';
import { HttpServer, type HttpModuleOptions } from '../../src/http/server.js';
import { context as hookContext, fakeApp } from './support.js';
import type { DestroyContext } from '../../src/types.js';
import { deferred } from '../support/async.js';


function context(ms: number): DestroyContext {
  return { signal: new AbortController().signal, deadline: Date.now() + ms, reason: 'test' };
}

/** What the tests observe: which scopes were created and released, and hooks into a running handler. */
class Probe {
  readonly created: ScopedController[] = [];
  readonly released: ScopedController[] = [];
  entered = deferred();
  open = deferred();
  responseClosed: Promise<unknown> | undefined;
  /** Resolves with the instance each time a release starts. */
  private releaseWaiters: ((instance: ScopedController) => void)[] = [];
  /** What release() awaits before it finishes (default: nothing). */
  releaseGate: Promise<void> | undefined;
  releaseError: Error | undefined;
  createError: Error | undefined;

  nextRelease(): Promise<ScopedController> {
    return new Promise((resolve) => this.releaseWaiters.push(resolve));
  }

  perRequest = async (_request: FastifyRequest) => {
    if (this.createError) throw this.createError;
    const instance = new ScopedController(this);
    this.created.push(instance);
    return {
      instance,
      release: async () => {
        this.released.push(instance);
        for (const waiter of this.releaseWaiters.splice(0)) waiter(instance);
        await this.releaseGate;
        if (this.releaseError) throw this.releaseError;
      },
    };
  };
}

@Controller('/scoped')
class ScopedController {
  constructor(private readonly probe: Probe) {}

  @Get('/ok')
  ok() {
    return { created: this.probe.created.indexOf(this) };
  }

  @Get('/boom')
  boom() {
    throw new Error('boom');
  }

  @Post('/validated', { schema: { body: { type: 'object', required: ['name'] } } })
  validated() {
    return { ok: true };
  }

  @Get('/slow')
  async slow(_request: FastifyRequest, reply: FastifyReply) {
    this.probe.responseClosed = once(reply.raw, 'close');
    this.probe.entered.resolve();
    await this.probe.open.promise;
    return { slow: true };
  }

  @Get('/callback')
  callback(_request: FastifyRequest, reply: FastifyReply) {
    setImmediate(() => void reply.send({ callback: this.probe.created.indexOf(this) }));
  }
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((fn) => fn()));
});

async function start(options: HttpModuleOptions = {}, setup: (server: HttpServer) => void = () => {}) {
  const probe = new Probe();
  const lines: { msg?: string; err?: { message: string } }[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(JSON.parse(line) as (typeof lines)[number]) });
  const server = new HttpServer({ options: { listen: false, ...options }, logger, isReady: () => true, app: fakeApp() });
  server.addControllers([{ controller: ScopedController, perRequest: probe.perRequest }]);
  setup(server);
  await server.start(hookContext(1000));
  const url = server.url;
  cleanup.push(() => server.fastify.close());
  return { server, probe, url, lines };
}

/** Lets already-queued callbacks run (used only to show that something did NOT happen). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('per-request controllers', () => {
  it('gets a fresh instance per request and releases it once the response is done', async () => {
    const { server, probe } = await start();
    const released = probe.nextRelease();
    const res = await server.fastify.inject('/scoped/ok');
    expect(res.json()).toEqual({ created: 0 });
    expect(await released).toBe(probe.created[0]);

    const again = probe.nextRelease();
    expect((await server.fastify.inject('/scoped/ok')).json()).toEqual({ created: 1 });
    await again;
    await settle();
    expect(probe.released).toEqual(probe.created);
    expect(probe.created).toHaveLength(2);
  });

  it('releases once when the handler throws', async () => {
    const { server, probe } = await start();
    const released = probe.nextRelease();
    expect((await server.fastify.inject('/scoped/boom')).statusCode).toBe(500);
    await released;
    await settle();
    expect(probe.released).toHaveLength(1);
  });

  it('creates no scope when validation rejects the request (nothing to release)', async () => {
    const { server, probe } = await start();
    expect((await server.fastify.inject({ method: 'POST', url: '/scoped/validated', payload: {} })).statusCode).toBe(400);
    const released = probe.nextRelease();
    expect((await server.fastify.inject({ method: 'POST', url: '/scoped/validated', payload: { name: 'x' } })).statusCode).toBe(200);
    await released;
    expect(probe.created).toHaveLength(1);
    expect(probe.released).toHaveLength(1);
  });

  it('keeps fastify semantics for a handler that answers later through reply.send()', async () => {
    const { server, probe } = await start();
    const released = probe.nextRelease();
    expect((await server.fastify.inject('/scoped/callback')).json()).toEqual({ callback: 0 });
    await released;
  });

  it('when the client goes away, releases once, after the handler has settled', async () => {
    const { probe, url } = await start({ listen: true, port: 0 });
    const client = new Client(url!);
    cleanup.push(() => client.destroy());
    const abort = new AbortController();
    const request = client.request({ method: 'GET', path: '/scoped/slow', signal: abort.signal }).catch((e: unknown) => e);
    await probe.entered.promise;

    abort.abort();
    await probe.responseClosed;
    await settle();
    expect(probe.released).toHaveLength(0); // the handler is still running on its instance

    const released = probe.nextRelease();
    probe.open.resolve();
    expect(await released).toBe(probe.created[0]);
    expect(await request).toBeInstanceOf(Error);
    await settle();
    expect(probe.released).toHaveLength(1);
  });

  it('answers 500 and releases nothing when creating the scope fails', async () => {
    const { server, probe } = await start();
    probe.createError = new Error('no db');
    const res = await server.fastify.inject('/scoped/ok');
    expect(res.statusCode).toBe(500);
    expect(probe.released).toHaveLength(0);
    expect(await server.stop(context(1000))).toBeUndefined();
  });

  it('logs a release that fails, and keeps serving', async () => {
    const { server, probe, lines } = await start();
    probe.releaseError = new Error('release failed');
    const released = probe.nextRelease();
    await server.fastify.inject('/scoped/ok');
    await released;
    probe.releaseError = undefined;
    expect((await server.fastify.inject('/scoped/ok')).statusCode).toBe(200);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'releasing a request scope failed', err: expect.objectContaining({ message: 'release failed' }) }));
  });
});

describe('per-request controllers at shutdown', () => {
  it('stop() waits for releases still pending', async () => {
    const fastifyClosed = deferred();
    const { server, probe } = await start({}, (s) =>
      s.fastify.addHook('onClose', (_instance, done) => {
        fastifyClosed.resolve();
        done();
      }),
    );
    const gate = deferred();
    probe.releaseGate = gate.promise;
    const released = probe.nextRelease();
    await server.fastify.inject('/scoped/ok');
    await released; // release started, not finished

    let stopped = false;
    const stopping = server.stop(context(10_000)).then(() => (stopped = true));
    await fastifyClosed.promise;
    await settle();
    expect(stopped).toBe(false);

    gate.resolve();
    await stopping;
    expect(stopped).toBe(true);
  });

  it('stop() waits for a scope whose handler still runs after its client went away', async () => {
    const { server, probe, url } = await start({ listen: true, port: 0 });
    const socket = net.connect(Number(new URL(url!).port), '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /scoped/slow HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await probe.entered.promise;
    socket.destroy();
    await probe.responseClosed;

    let stopped = false;
    const stopping = server.stop(context(10_000)).then(() => (stopped = true));
    await once(server.fastify.server, 'close'); // every connection is gone, the handler still runs
    await settle();
    expect(stopped).toBe(false);
    expect(probe.released).toHaveLength(0);

    probe.open.resolve();
    await stopping;
    expect(probe.released).toHaveLength(1);
  });

  it('reports a timeout when a release outlives the drain budget', async () => {
    const { server, probe } = await start({ drainTimeout: 30 });
    probe.releaseGate = new Promise(() => {});
    const released = probe.nextRelease();
    await server.fastify.inject('/scoped/ok');
    await released;
    await expect(server.stop(context(10_000))).rejects.toBeInstanceOf(HookTimeoutError);
  });
});
