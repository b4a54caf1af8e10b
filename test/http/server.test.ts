import 'reflect-metadata';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionsError, InvalidProviderError } from '../../src/errors.js';
import { Controller, Get, Post } from '../../src/http/controllers.js';
import type { HttpModuleOptions, HttpServer } from '../../src/http/server.js';
import { context, httpServer, silent } from './support.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.fastify.close()));
});

function server(options: HttpModuleOptions = {}, readiness: () => boolean = () => true, logger = silent): HttpServer {
  const s = httpServer({ listen: false, ...options }, { isReady: readiness, logger });
  servers.push(s);
  return s;
}

class UserService {
  find(id: string) {
    return { id, name: `user ${id}` };
  }
}

@Controller('/users')
class UserController {
  constructor(private readonly users: UserService) {}

  @Get('/:id')
  get(req: FastifyRequest<{ Params: { id: string } }>) {
    return this.users.find(req.params.id);
  }

  @Get()
  async list(_req: FastifyRequest, reply: FastifyReply) {
    void reply.header('x-total', '2');
    return [this.users.find('1'), this.users.find('2')];
  }

  @Post('/', {
    schema: {
      body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } }, additionalProperties: false },
    },
  })
  create(req: FastifyRequest<{ Body: { name: string } }>, reply: FastifyReply) {
    void reply.code(201);
    return { created: req.body.name };
  }

  @Get('/:id/callback')
  callback(req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) {
    setImmediate(() => void reply.send({ later: req.params.id }));
  }
}

describe('routes', () => {
  it('serves controller methods under the joined prefix; the return value is the payload', async () => {
    const s = server();
    s.addControllers([{ controller: UserController, instance: new UserController(new UserService()) }]);
    await s.start(context(1000));
    const one = await s.fastify.inject({ method: 'GET', url: '/users/7' });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({ id: '7', name: 'user 7' });
    const all = await s.fastify.inject({ method: 'GET', url: '/users' });
    expect(all.json()).toHaveLength(2);
    expect(all.headers['x-total']).toBe('2');
  });

  it('passes fastify route options through: a body schema answers 400, a valid body reaches the handler', async () => {
    const s = server();
    s.addControllers([{ controller: UserController, instance: new UserController(new UserService()) }]);
    await s.start(context(1000));
    const bad = await s.fastify.inject({ method: 'POST', url: '/users', payload: { nom: 'x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'FST_ERR_VALIDATION' });
    const good = await s.fastify.inject({ method: 'POST', url: '/users', payload: { name: 'ada' } });
    expect(good.statusCode).toBe(201);
    expect(good.json()).toEqual({ created: 'ada' });
  });

  it('keeps fastify semantics for a handler that answers later through reply.send()', async () => {
    const s = server();
    s.addControllers([{ controller: UserController, instance: new UserController(new UserService()) }]);
    await s.start(context(1000));
    const res = await s.fastify.inject({ method: 'GET', url: '/users/3/callback' });
    expect(res.json()).toEqual({ later: '3' });
  });

  it('refuses a class without @Controller, and a source with both or neither of instance and perRequest', () => {
    class Plain {}
    const s = server();
    expect(() => s.addControllers([{ controller: Plain, instance: new Plain() }])).toThrow(/not decorated with @Controller/);
    const instance = new UserController(new UserService());
    const perRequest = () => Promise.resolve({ instance, release: () => Promise.resolve() });
    expect(() => s.addControllers([{ controller: UserController, instance, perRequest }])).toThrow(InvalidProviderError);
    expect(() => s.addControllers([{ controller: UserController }])).toThrow(/exactly one of instance and perRequest/);
  });
});

describe('options', () => {
  it.each([['port', -1], ['drainDelay', Number.NaN], ['drainTimeout', '5']])('rejects %s = %j', (key, value) => {
    expect(() => httpServer({ [key]: value })).toThrow(InvalidOptionsError);
  });
});

describe('health endpoints', () => {
  it('liveness is 200; readiness follows readiness() and answers 503 once it turns false', async () => {
    let ready = false;
    const s = server({}, () => ready);
    await s.start(context(1000));
    expect((await s.fastify.inject('/healthz')).statusCode).toBe(200);
    expect((await s.fastify.inject('/readyz')).statusCode).toBe(503);
    ready = true;
    const up = await s.fastify.inject('/readyz');
    expect(up.statusCode).toBe(200);
    expect(up.json()).toEqual({ status: 'ok' });
    ready = false;
    const down = await s.fastify.inject('/readyz');
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ status: 'unavailable' });
    expect((await s.fastify.inject('/healthz')).statusCode).toBe(200);
  });

  it('uses the configured paths', async () => {
    const s = server({ readinessPath: '/ready', livenessPath: '/live' });
    await s.start(context(1000));
    expect((await s.fastify.inject('/ready')).statusCode).toBe(200);
    expect((await s.fastify.inject('/live')).statusCode).toBe(200);
    expect((await s.fastify.inject('/readyz')).statusCode).toBe(404);
  });
});

describe('listening', () => {
  it('listens on port 0 and reports its URL', async () => {
    const s = server({ listen: true, port: 0 });
    s.addControllers([{ controller: UserController, instance: new UserController(new UserService()) }]);
    await s.start(context(1000));
    const url = s.url!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(`${url}/users/1`);
    expect(await res.body.json()).toEqual({ id: '1', name: 'user 1' });
  });

  it('does not listen with listen: false (routes through inject only)', async () => {
    const s = server({ listen: false, port: 0 });
    await s.start(context(1000));
    expect(s.url).toBeUndefined();
    expect(s.fastify.server.listening).toBe(false);
  });
});

describe('logger', () => {
  it('shares the pino logger with fastify, and leaves fastify its own no-op logger when the logger is silent', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ name: 'quiesce' }, sink);
    const s = server({}, () => true, logger);
    await s.start(context(1000));
    await s.fastify.inject('/users-nope');
    expect(lines.some((line) => line.name === 'quiesce' && line.msg === 'incoming request')).toBe(true);

    const quiet = server();
    expect(quiet.fastify.log).not.toBe(silent);
  });

  it('keeps health probes out of the info-level access log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const s = server({}, () => true, pino({}, sink));
    await s.start(context(1000));
    await s.fastify.inject('/healthz');
    await s.fastify.inject('/readyz');
    expect(lines).toEqual([]);
  });
});
