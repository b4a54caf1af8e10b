/**
 * healthPort (CONTRACT §12): /readyz and /healthz on their own listener (same host), open until shutdown has
 * finished (readiness 503 throughout, liveness 200), closed by closeHealth(); not served on the main port.
 */
import 'reflect-metadata';
import { once } from 'node:events';
import net from 'node:net';
import { injectable } from 'inversify';
import { Client, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrap } from '../../src/bootstrap.js';
import { Module } from '../../src/container/module-decorator.js';
import { Controller, Get } from '../../src/http/controllers.js';
import { HttpModule } from '../../src/http/http-module.js';
import { onDestroy } from '../../src/lifecycle/hooks.js';
import { context, httpServer } from './support.js';
import { freePort } from '../support/ports.js';

@Controller()
class PingController {
  @Get('/ping') ping() {
    return { pong: true };
  }
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((fn) => fn()));
});

async function status(url: string): Promise<{ status: number; body: unknown }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.json() };
}

async function refused(url: string): Promise<boolean> {
  const { port, hostname } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  try {
    await once(socket, 'connect');
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ECONNREFUSED';
  } finally {
    socket.destroy();
  }
}

describe('healthPort', () => {
  it('serves readiness and liveness on their own port, and not on the main port', async () => {
    const ready = { value: true };
    const server = httpServer({ port: 0, healthPort: 0 }, { isReady: () => ready.value });
    server.addControllers([{ controller: PingController, instance: new PingController() }]);
    await server.start(context(10_000));
    cleanup.push(() => server.fastify.close(), () => server.closeHealth());
    const health = server.healthUrl!;
    expect(new URL(health).hostname).toBe('127.0.0.1');
    expect(new URL(health).port).not.toBe(new URL(server.url!).port);

    expect(await status(`${health}/readyz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await status(`${health}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await status(`${health}/ping`)).status).toBe(404);
    expect((await request(`${server.url}/readyz`)).statusCode).toBe(404);
    expect((await request(`${server.url}/healthz`)).statusCode).toBe(404);
    expect(await status(`${server.url}/ping`)).toEqual({ status: 200, body: { pong: true } });
    ready.value = false;
    expect(await status(`${health}/readyz`)).toEqual({ status: 503, body: { status: 'unavailable' } });
  });

  it('stays open after the drain (readiness 503, liveness 200) until closeHealth(), which closes it and its connections', async () => {
    const ready = { value: true };
    const server = httpServer({ port: 0, healthPort: 0, readinessPath: '/ready', livenessPath: '/live' }, { isReady: () => ready.value });
    await server.start(context(10_000));
    cleanup.push(() => server.fastify.close(), () => server.closeHealth());
    const health = server.healthUrl!;
    const probe = new Client(health, { keepAliveTimeout: 60_000 }); // a keep-alive prober
    cleanup.push(() => probe.destroy());
    expect((await probe.request({ method: 'GET', path: '/ready' })).statusCode).toBe(200);

    ready.value = false; // shutdown begins
    await server.stop(context(10_000));
    expect(await refused(server.url!)).toBe(true); // the main listener is gone
    for (let i = 0; i < 2; i++) {
      const readiness = await probe.request({ method: 'GET', path: '/ready' });
      expect(readiness.statusCode).toBe(503);
      await readiness.body.dump();
      const liveness = await probe.request({ method: 'GET', path: '/live' });
      expect(liveness.statusCode).toBe(200);
      await liveness.body.dump();
    }

    const disconnected = once(probe, 'disconnect');
    await server.closeHealth();
    await disconnected;
    expect(await refused(health)).toBe(true);
    await server.closeHealth(); // idempotent
  });

  it('is closed by closeHealth() even when the server never started', async () => {
    const server = httpServer({ port: 0, healthPort: 0 });
    await server.closeHealth();
    expect(server.healthUrl).toBeUndefined();
  });

  it('in the app: answers throughout shutdown, destroy phase included, and closes once the app is stopped', async () => {
    const seen: { readiness: number; liveness: number }[] = [];
    let health = '';

    @injectable()
    class Db {
      @onDestroy() async close() {
        seen.push({ readiness: (await request(`${health}/readyz`)).statusCode, liveness: (await request(`${health}/healthz`)).statusCode });
      }
    }

    const port = await freePort();
    @Module({ imports: [HttpModule.forRoot({ port: 0, healthPort: port })], providers: [Db] })
    class AppModule {}
    const app = await bootstrap(AppModule, { signals: false, logger: false });
    app.get(Db);
    health = `http://127.0.0.1:${port}`;
    expect((await request(`${health}/readyz`)).statusCode).toBe(200);

    const report = await app.close();
    expect(report.ok).toBe(true);
    expect(seen).toEqual([{ readiness: 503, liveness: 200 }]);
    expect(await refused(health)).toBe(true);
  });
});

