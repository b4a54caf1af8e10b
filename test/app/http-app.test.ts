import 'reflect-metadata';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { bootstrap, Controller, createTestApp, Get, HttpModule, injectable, Module, onDestroy, Post, type DestroyContext } from '../../src/index.js';

describe('HTTP module through the container', () => {
  it('serves controllers with injected services, validates with route schemas, and is a node of the graph', async () => {
    @injectable() class UserService { find(id: string) { return { id, name: `user ${id}` }; } }
    @Controller('/users')
    class UserController {
      constructor(private readonly users: UserService) {}
      @Get('/:id') get(req: FastifyRequest<{ Params: { id: string } }>) { return this.users.find(req.params.id); }
      @Post('/', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } })
      create(req: FastifyRequest<{ Body: { name: string } }>, reply: FastifyReply) { reply.code(201); return { created: req.body.name }; }
    }
    @Module({ imports: [HttpModule.forRoot()], providers: [UserService], controllers: [UserController] }) class AppModule {}

    const app = await createTestApp(AppModule);
    expect(app.url).toBeUndefined();
    const got = await app.http!.inject({ method: 'GET', url: '/users/7' });
    expect(got.json()).toEqual({ id: '7', name: 'user 7' });
    const created = await app.http!.inject({ method: 'POST', url: '/users', payload: { name: 'Ada' } });
    expect([created.statusCode, created.json()]).toEqual([201, { created: 'Ada' }]);
    expect((await app.http!.inject({ method: 'POST', url: '/users', payload: { nope: 1 } })).statusCode).toBe(400);
    expect(app.graph().edges).toContainEqual({ from: 'http', to: 'UserController' });
    expect(app.graph().nodes).toContainEqual({ id: 'http', name: 'http', scope: 'singleton', disposable: true });
    await app.close();
  });

  it('answers readiness 200 when ready and 503 from the moment shutdown starts; stops HTTP before destroying providers', async () => {
    const events: string[] = [];
    let release!: () => void;
    @injectable() class Store {
      @onDestroy() async close(ctx: DestroyContext) {
        events.push(`Store.close:${ctx.reason}`);
        await new Promise<void>((r) => (release = r));
      }
    }
    @Controller() class Ping { constructor(readonly store: Store) {} @Get('/ping') ping() { return 'pong'; } }
    @Module({ imports: [HttpModule.forRoot({ port: 0 })], providers: [Store], controllers: [Ping] }) class AppModule {}

    const app = await bootstrap(AppModule, { logger: false, signals: false });
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await request(`${app.url}/readyz`)).statusCode).toBe(200);
    expect(await (await request(`${app.url}/ping`)).body.text()).toBe('pong');
    const closing = app.close('test');
    await expect.poll(() => events.length).toBe(1);
    const report = (release(), await closing);
    expect(report.steps.map((s) => [s.name, s.kind, s.status])).toEqual([
      ['http', 'http', 'ok'],
      ['Store', 'destroy', 'ok'],
    ]);
    expect(report.steps[0]!.endMs).toBeLessThanOrEqual(report.steps[1]!.startMs);
  });

  it('creates a controller that needs a request-scoped provider per request and destroys the request scope after the response', async () => {
    const events: string[] = [];
    let n = 0;
    @injectable() class Db { @onDestroy() close() { events.push('Db.close'); } }
    @injectable() class RequestContext {
      readonly id = ++n;
      constructor(readonly db: Db) {}
      @onDestroy() end() { events.push(`ctx${this.id}.end`); }
    }
    @Controller('/me')
    class MeController {
      constructor(readonly ctx: RequestContext) {}
      @Get() me() { return { ctx: this.ctx.id }; }
    }
    @Module({
      imports: [HttpModule.forRoot()],
      providers: [Db, { provide: RequestContext, useClass: RequestContext, scope: 'request' }],
      controllers: [MeController],
    })
    class AppModule {}

    const app = await createTestApp(AppModule);
    expect(app.graph().nodes.find((node) => node.id === 'MeController')?.scope).toBe('request');
    expect((await app.http!.inject({ url: '/me' })).json()).toEqual({ ctx: 1 });
    expect((await app.http!.inject({ url: '/me' })).json()).toEqual({ ctx: 2 });
    await expect.poll(() => events).toEqual(['ctx1.end', 'ctx2.end']);
    await app.close();
    expect(events).toEqual(['ctx1.end', 'ctx2.end', 'Db.close']);
  });

  it('flips readiness to 503 at once on close and keeps serving, with Connection: close, during drainDelay', async () => {
    @Controller() class Ping { @Get('/ping') ping() { return 'pong'; } }
    @Module({ imports: [HttpModule.forRoot({ port: 0, drainDelay: 300 })], controllers: [Ping] }) class AppModule {}
    const app = await bootstrap(AppModule, { logger: false, signals: false });
    const closing = app.close();
    const ready = await request(`${app.url}/readyz`);
    expect(ready.statusCode).toBe(503);
    await ready.body.dump();
    const ping = await request(`${app.url}/ping`);
    expect([ping.statusCode, ping.headers.connection, await ping.body.text()]).toEqual([200, 'close', 'pong']);
    expect((await closing).ok).toBe(true);
  });

  it('rolls back and rejects with QUIESCE_INIT_FAILED naming http when the port is taken', async () => {
    const events: string[] = [];
    @injectable() class Db { @onDestroy() close() { events.push('Db.close'); } }
    @Controller() class Ping { constructor(readonly db: Db) {} @Get('/') ping() { return 1; } }
    @Module({ imports: [HttpModule.forRoot({ port: 0 })], providers: [Db], controllers: [Ping] }) class First {}
    const first = await bootstrap(First, { logger: false, signals: false });
    const port = Number(new URL(first.url!).port);
    @Module({ imports: [HttpModule.forRoot({ port })], providers: [Db], controllers: [Ping] }) class Second {}
    await expect(bootstrap(Second, { logger: false, signals: false })).rejects.toMatchObject({ code: 'QUIESCE_INIT_FAILED', message: expect.stringMatching(/^Startup failed in http: .*EADDRINUSE/) });
    expect(events).toEqual(['Db.close']);
    await first.close();
  });
});
