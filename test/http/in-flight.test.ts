/**
 * No route handler outlives what it uses (issue 10, item 1): the HTTP step of shutdown does not end while a
 * handler still runs, until the shutdown deadline. Real sockets on 127.0.0.1:0.
 */
import 'reflect-metadata';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { once } from 'node:events';
import net from 'node:net';
import { Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrap } from '../../src/bootstrap.js';
import { Module } from '../../src/container/module-decorator.js';
import { HookTimeoutError } from '../../src/errors.js';
import { Controller, Get } from '../../src/http/controllers.js';
import { DrainTimeoutError } from '../../src/http/drain.js';
import { HttpModule } from '../../src/http/http-module.js';
import type { HttpModuleOptions, HttpServer } from '../../src/http/server.js';
import { onDestroy } from '../../src/lifecycle/hooks.js';
import { injectable } from 'inversify';
import { deferred, type Deferred } from '../support/async.js';
import { context, httpServer } from './support.js';

class Gates {
  entered: Deferred[] = [];
  open = deferred();
  nextEntered(): Promise<void> {
    const d = deferred();
    this.entered.push(d);
    return d.promise;
  }
  enter(): void {
    this.entered.shift()?.resolve();
  }
}

@Controller()
class SlowController {
  constructor(readonly gates: Gates) {}

  @Get('/slow')
  async slow() {
    this.gates.enter();
    await this.gates.open.promise;
    return { slow: true };
  }

  @Get('/callback')
  callback(_request: FastifyRequest, reply: FastifyReply) {
    this.gates.enter();
    void this.gates.open.promise.then(() => reply.send({ callback: true }));
  }

  @Get('/sync')
  sync() {
    return { sync: true };
  }

  @Get('/throws')
  throws() {
    throw new Error('boom');
  }
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((fn) => fn()));
});

async function start(options: HttpModuleOptions = {}): Promise<{ server: HttpServer; gates: Gates; port: number; url: string }> {
  const server = httpServer({ port: 0, ...options });
  const gates = new Gates();
  server.addControllers([{ controller: SlowController, instance: new SlowController(gates) }]);
  await server.start(context(10_000));
  cleanup.push(() => server.fastify.close());
  const url = server.url!;
  return { server, gates, port: Number(new URL(url).port), url };
}

/** Sends a GET on a raw socket and returns the socket (the test decides when it goes away). */
async function send(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  cleanup.push(async () => socket.destroy());
  await once(socket, 'connect');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  return socket;
}

function isPending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  return Promise.race([promise.then(() => false, () => false), new Promise((resolve) => setImmediate(resolve, marker))]).then(
    (value) => value === marker,
  );
}

describe('in-flight handlers at shutdown', () => {
  it('does not end the http step while a handler still runs after its client disconnected', async () => {
    // Root cause: a singleton controller's route was fastify's own route, tracked by nothing: once the client
    // went away, fastify.close() finished, the http step ended and the destroy phase tore down what the
    // handler was still using.
    const { server, gates, port } = await start();
    const entered = gates.nextEntered();
    const socket = await send(port, '/slow');
    await entered;
    socket.destroy();

    const stopped = server.stop(context(10_000));
    await once(server.fastify.server, 'close'); // every connection is gone, the handler still runs
    expect(server.requestsRunning).toBe(1);
    expect(await isPending(stopped)).toBe(true);

    gates.open.resolve();
    await stopped;
    expect(server.requestsRunning).toBe(0);
  });

  it('waits past drainTimeout for a handler that is longer, cuts its connection at drainTimeout and reports it', async () => {
    const { server, gates, url } = await start({ drainTimeout: 50 });
    const entered = gates.nextEntered();
    const client = new Client(url);
    cleanup.push(() => client.destroy());
    const pending = client.request({ method: 'GET', path: '/slow' }).catch((e: unknown) => e);
    await entered;

    const stopped = server.stop(context(10_000)).catch((e: unknown) => e);
    expect(await pending).toBeInstanceOf(Error); // the socket was destroyed at drainTimeout
    expect(await isPending(stopped)).toBe(true); // ... but the handler still runs

    gates.open.resolve();
    const error = await stopped;
    expect(error).toBeInstanceOf(DrainTimeoutError);
    expect(error).toMatchObject({ hook: 'http drain', timeoutMs: 50, cut: { connections: 1, requests: 0 } });
    expect((error as Error).message).toMatch(/1 connection destroyed at the drain deadline/);
  });

  it('at the shutdown deadline, ends the step with an error that says how many requests were still running', async () => {
    const { server, gates, port } = await start();
    for (let i = 0; i < 2; i++) {
      const entered = gates.nextEntered();
      (await send(port, '/slow')).destroy();
      await entered;
    }
    const entered = gates.nextEntered();
    (await send(port, '/callback')).destroy();
    await entered;

    const startedAt = Date.now();
    const error = await server.stop(context(300)).catch((e: unknown) => e);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(error).toBeInstanceOf(HookTimeoutError);
    expect(error).toMatchObject({ code: 'QUIESCE_HOOK_TIMEOUT', cut: { requests: 2 } });
    expect((error as Error).message).toMatch(/2 requests still running at the shutdown deadline \(GET \/slow: 2\)/);
    gates.open.resolve();
  });

  it('describes what it still waits for, for a scheduler that reports the step at the deadline itself', async () => {
    const { server, gates, port } = await start();
    expect(server.describePending()).toBeUndefined();
    const entered = gates.nextEntered();
    const socket = await send(port, '/slow');
    await entered;
    expect(server.describePending()).toBe('http drain: 1 request still running (GET /slow: 1), 1 connection open');
    gates.open.resolve();
    socket.destroy();
  });

  it('counts a callback-style handler until its response is sent', async () => {
    const { server, gates, url } = await start();
    const entered = gates.nextEntered();
    const client = new Client(url);
    cleanup.push(() => client.destroy());
    const pending = client.request({ method: 'GET', path: '/callback' });
    await entered;
    expect(server.requestsRunning).toBe(1);
    gates.open.resolve();
    expect(await (await pending).body.json()).toEqual({ callback: true });
    expect(server.requestsRunning).toBe(0);
  });

  it('counts back to zero after synchronous, throwing and async handlers', async () => {
    const { server, gates } = await start();
    gates.open.resolve();
    for (const path of ['/sync', '/throws', '/slow', '/callback']) {
      for (let i = 0; i < 3; i++) await server.fastify.inject(path);
    }
    expect(server.requestsRunning).toBe(0);
  });

  it('tracks the handlers of routes registered in setup, in any encapsulation context', async () => {
    const gate = deferred();
    const entered = deferred();
    const server = httpServer({
      port: 0,
      setup: async (fastify) => {
        await fastify.register(async (child) => {
          child.get('/own', async () => {
            entered.resolve();
            await gate.promise;
            return { own: true };
          });
        });
      },
    });
    await server.start(context(10_000));
    cleanup.push(() => server.fastify.close());
    const socket = await send(Number(new URL(server.url!).port), '/own');
    await entered.promise;
    socket.destroy();
    const stopped = server.stop(context(10_000));
    await once(server.fastify.server, 'close');
    expect(await isPending(stopped)).toBe(true);
    gate.resolve();
    await stopped;
  });
});

describe('in-flight handlers in the app', () => {
  it('destroys a provider a handler uses only after that handler has finished, even when its client went away', async () => {
    const events: string[] = [];
    const gate = deferred();
    const entered = deferred();

    @injectable()
    class Db {
      destroyed = false;
      @onDestroy() close() {
        events.push('Db destroyed');
        this.destroyed = true;
      }
    }

    @Controller()
    class UsesDb {
      constructor(private readonly db: Db) {}
      @Get('/query') async query() {
        entered.resolve();
        await gate.promise;
        events.push(this.db.destroyed ? 'handler used a destroyed Db' : 'handler done');
        return { ok: true };
      }
    }

    @Module({ imports: [HttpModule.forRoot({ port: 0 })], providers: [Db], controllers: [UsesDb] })
    class AppModule {}

    const app = await bootstrap(AppModule, { signals: false, logger: false, shutdownTimeout: 10_000 });
    const socket = await send(Number(new URL(app.url!).port), '/query');
    await entered.promise;
    socket.destroy();
    const closing = app.close();
    await once(app.http!.server, 'close');
    expect(await isPending(closing)).toBe(true);
    gate.resolve();
    const report = await closing;
    expect(events).toEqual(['handler done', 'Db destroyed']);
    expect(report.ok).toBe(true);
  });
});
