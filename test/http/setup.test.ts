/**
 * HttpModule.forRoot({ setup }) (CONTRACT §12): what setup registers on the root instance applies to the
 * controllers' routes. Real plugins (@fastify/cors, @fastify/helmet), real sockets on 127.0.0.1:0.
 */
import 'reflect-metadata';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { injectable } from 'inversify';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { bootstrap } from '../../src/bootstrap.js';
import { Module } from '../../src/container/module-decorator.js';
import { Controller, Get } from '../../src/http/controllers.js';
import { HttpModule } from '../../src/http/http-module.js';
import type { HttpModuleOptions } from '../../src/http/server.js';
import { onDestroy, onInit } from '../../src/lifecycle/hooks.js';
import type { App } from '../../src/types.js';
import { freePort } from '../support/ports.js';

class UserNotFound extends Error {
  constructor(readonly id: string) {
    super(`no user ${id}`);
  }
}

@injectable()
class Auth {
  readonly tokens = new Set(['secret']);
  initialised = false;
  destroyed = false;

  @onInit() init() {
    this.initialised = true;
  }

  @onDestroy() close() {
    this.destroyed = true;
  }

  /** An onRequest hook: 401 unless the bearer token is known. */
  readonly onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = request.headers.authorization?.replace(/^Bearer /, '');
    if (token === undefined || !this.tokens.has(token)) {
      await reply.code(401).send({ error: 'unauthorized' });
      return;
    }
    (request as FastifyRequest & { user: string }).user = `user:${token}`;
  };
}

@Controller('/users')
class UserController {
  @Get('/:id')
  get(request: FastifyRequest<{ Params: { id: string } }>) {
    if (request.params.id === 'missing') throw new UserNotFound('missing');
    return { id: request.params.id, user: (request as FastifyRequest & { user?: string }).user };
  }
}

const apps: App[] = [];
afterEach(async () => {
  await Promise.allSettled(apps.splice(0).map((app) => app.close()));
});

async function start(setup: NonNullable<HttpModuleOptions['setup']>, options: HttpModuleOptions = {}): Promise<App> {
  @Module({ imports: [HttpModule.forRoot({ port: 0, ...options, setup })], providers: [Auth], controllers: [UserController] })
  class AppModule {}
  const app = await bootstrap(AppModule, { signals: false, logger: false });
  apps.push(app);
  return app;
}


async function get(app: App, path: string, headers: Record<string, string> = {}, method: 'GET' | 'OPTIONS' = 'GET') {
  const res = await request(`${app.url}${path}`, { method, headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('HttpModule setup', () => {
  it('runs once, after every @onInit, before any controller route is added and before listening', async () => {
    const seen: unknown[] = [];
    const app = await start((fastify, app) => {
      seen.push({
        initialised: app.get(Auth).initialised,
        listening: fastify.server.listening,
        controllerRoute: fastify.hasRoute({ method: 'GET', url: '/users/:id' }),
      });
    });
    expect(seen).toEqual([{ initialised: true, listening: false, controllerRoute: false }]);
    expect((await get(app, '/users/1', { authorization: 'Bearer x' })).status).toBe(200);
  });

  it('applies an onRequest hook that uses a DI singleton (app.get) to the controllers\' routes', async () => {
    const app = await start((fastify, app) => {
      fastify.decorateRequest('user', '');
      fastify.addHook('onRequest', app.get(Auth).onRequest);
    });
    expect(await get(app, '/users/1')).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
    expect(await get(app, '/users/1', { authorization: 'Bearer secret' })).toMatchObject({
      status: 200,
      body: { id: '1', user: 'user:secret' },
    });
  });

  it('keeps the probes on healthPort out of what setup registers: an auth hook never turns them into a 401', async () => {
    // On the main port, a root hook reaches the health routes too (fastify applies it to every context).
    const onMain = await start((fastify, app) => void fastify.addHook('onRequest', app.get(Auth).onRequest));
    expect((await get(onMain, '/readyz')).status).toBe(401);
    await onMain.close();

    const port = await freePort();
    const app = await start((fastify, app) => void fastify.addHook('onRequest', app.get(Auth).onRequest), { healthPort: port });
    expect((await request(`http://127.0.0.1:${port}/readyz`)).statusCode).toBe(200);
    expect((await request(`http://127.0.0.1:${port}/healthz`)).statusCode).toBe(200);
    expect((await get(app, '/users/1')).status).toBe(401);
  });

  it('gives async singletons through app.getAsync', async () => {
    let got: unknown;
    await start(async (_fastify, app) => {
      got = await app.getAsync(Auth);
    });
    expect(got).toBeInstanceOf(Auth);
  });

  it('applies @fastify/cors and @fastify/helmet to the controllers\' routes', async () => {
    const app = await start(async (fastify) => {
      await fastify.register(cors, { origin: 'https://app.example' });
      await fastify.register(helmet);
    });
    const res = await get(app, '/users/1', { origin: 'https://app.example' });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBeDefined();

    const preflight = await get(app, '/users/1', { origin: 'https://app.example', 'access-control-request-method': 'GET' }, 'OPTIONS');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example');
  });

  it('loads a plugin registered without await before the controllers\' routes are added', async () => {
    const app = await start((fastify) => {
      void fastify.register(helmet);
    });
    expect((await get(app, '/users/1')).headers['x-content-type-options']).toBe('nosniff');
  });

  it('uses a global error handler and a not-found handler for the controllers\' routes', async () => {
    const app = await start((fastify) => {
      fastify.setErrorHandler((error: FastifyError, _request, reply) => {
        if (error instanceof UserNotFound) return reply.code(404).send({ error: 'user not found', id: error.id });
        return reply.code(500).send({ error: 'internal' });
      });
      fastify.setNotFoundHandler((request, reply) => reply.code(404).send({ error: 'no route', url: request.url }));
    });
    expect(await get(app, '/users/missing')).toEqual(expect.objectContaining({ status: 404, body: { error: 'user not found', id: 'missing' } }));
    expect(await get(app, '/nope')).toEqual(expect.objectContaining({ status: 404, body: { error: 'no route', url: '/nope' } }));
  });

  it('serves extra routes registered in setup, next to the controllers\' routes and the health endpoints', async () => {
    const app = await start(async (fastify) => {
      fastify.get('/version', () => ({ version: '1.2.3' }));
      await fastify.register(
        async (child: FastifyInstance) => {
          child.get('/info', () => ({ child: true }));
        },
        { prefix: '/admin' },
      );
    });
    expect((await get(app, '/version')).body).toEqual({ version: '1.2.3' });
    expect((await get(app, '/admin/info')).body).toEqual({ child: true });
    expect((await get(app, '/readyz')).status).toBe(200);
  });

  it.each([
    ['throws', () => {
      throw new Error('setup boom');
    }],
    ['rejects', () => Promise.reject(new Error('setup boom'))],
    ['registers a plugin that fails, without awaiting it', (fastify: FastifyInstance) => {
      void fastify.register(() => Promise.reject(new Error('setup boom')));
    }],
  ])('fails startup with QUIESCE_INIT_FAILED naming the HTTP setup, and rolls back, when setup %s', async (_, setup) => {
    let auth: Auth | undefined;
    @Module({
      imports: [
        HttpModule.forRoot({
          port: 0,
          setup: (fastify, app) => {
            auth = app.get(Auth);
            return setup(fastify);
          },
        }),
      ],
      providers: [Auth],
      controllers: [UserController],
    })
    class AppModule {}
    const error = await bootstrap(AppModule, { signals: false, logger: false }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'QUIESCE_INIT_FAILED' });
    expect((error as Error).message).toMatch(/HTTP setup/);
    expect((error as Error).message).toMatch(/setup boom/);
    // the setup's own InitFailedError is the error: not wrapped again as "Startup failed in http: Startup failed in ..."
    expect((error as Error).message.match(/Startup failed in/g)).toHaveLength(1);
    expect(auth?.destroyed).toBe(true); // rolled back
  });
});
