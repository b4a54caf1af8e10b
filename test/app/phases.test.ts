import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import {
  bootstrap,
  Controller,
  createTestApp,
  Get,
  HttpModule,
  injectable,
  Module,
  onDestroy,
  onInit,
  onStart,
  onStop,
  type HookContext,
  type ShutdownStep,
} from '../../src/index.js';
import { sleep } from '../support/async.js';

const quiet = { logger: false, signals: false } as const;

/** What happened when: `[name, ms since the recorder was made]`, in the order it happened. */
function recorder() {
  const t0 = performance.now();
  const events: [string, number][] = [];
  return {
    events,
    mark(name: string): void {
      events.push([name, performance.now() - t0]);
    },
    at(name: string): number {
      const found = events.find(([n]) => n === name);
      if (!found) throw new Error(`no event '${name}' in ${JSON.stringify(events.map(([n]) => n))}`);
      return found[1];
    },
    names: (): string[] => events.map(([name]) => name),
  };
}

function step(steps: ShutdownStep[], id: string, kind: ShutdownStep['kind']): ShutdownStep {
  const found = steps.find((s) => s.id === id && s.kind === kind);
  if (!found) throw new Error(`no ${kind} step ${id} in ${JSON.stringify(steps.map((s) => [s.id, s.kind]))}`);
  return found;
}

describe('start phase', () => {
  it('runs every @onInit before any @onStart, and a start hook after the start hooks of what its instance depends on', async () => {
    const rec = recorder();
    @injectable() class Broker {
      @onInit() async connect() { await sleep(10); rec.mark('Broker.init'); }
      @onStart() async start(ctx: HookContext) {
        expect(ctx.reason).toBe('start');
        expect(ctx.deadline).toBeGreaterThan(Date.now()); // the startup deadline
        rec.mark('Broker.start:begin');
        await sleep(30);
        rec.mark('Broker.start:end');
      }
    }
    @injectable() class Plain { constructor(readonly broker: Broker) {} } // no hooks: ordering passes through it
    @injectable() class Consumer {
      constructor(readonly plain: Plain) {}
      @onStart() start() { rec.mark('Consumer.start'); }
    }
    @injectable() class Scheduler { // independent of Broker: starts at once with it
      @onStart() async start() { rec.mark('Scheduler.start:begin'); await sleep(30); }
    }
    @injectable() class SlowInit { @onInit() async open() { await sleep(60); rec.mark('SlowInit.init'); } }
    @Module({ providers: [Broker, Plain, Consumer, Scheduler, SlowInit] }) class AppModule {}

    const app = await bootstrap(AppModule, quiet);
    // every init (even one nothing depends on) before any start
    expect(rec.at('Broker.start:begin')).toBeGreaterThanOrEqual(rec.at('SlowInit.init'));
    expect(rec.at('Scheduler.start:begin')).toBeGreaterThanOrEqual(rec.at('SlowInit.init'));
    // dependency order, through an instance without hooks
    expect(rec.at('Consumer.start')).toBeGreaterThanOrEqual(rec.at('Broker.start:end'));
    // independent start hooks run concurrently
    expect(rec.at('Scheduler.start:begin')).toBeLessThan(rec.at('Broker.start:end'));
    await app.close();
  });

  it('rolls back a failing @onStart: the stop hooks of what started (dependents first), then destroys; names the provider', async () => {
    const events: string[] = [];
    @injectable() class Db {
      @onStart() start() { events.push('Db.start'); }
      @onStop() stop(ctx: HookContext) { events.push(`Db.stop:${ctx.reason}`); }
      @onDestroy() close() { events.push('Db.destroy'); }
    }
    @injectable() class Cache {
      constructor(readonly db: Db) {}
      @onStart() start() { events.push('Cache.start'); }
      @onStop() stop() { events.push('Cache.stop'); }
    }
    @injectable() class Consumer {
      constructor(readonly cache: Cache) {}
      @onStart() async start() { await sleep(5); throw new Error('queue not found'); }
      @onStop() stop() { events.push('Consumer.stop (must not run: it never started)'); }
      @onDestroy() close() { events.push('Consumer.destroy'); }
    }
    @Module({ providers: [Db, Cache, Consumer] }) class AppModule {}
    const error = (await bootstrap(AppModule, quiet).catch((e: unknown) => e)) as Error & { code: string; cause: Error };
    expect(error).toMatchObject({ code: 'QUIESCE_INIT_FAILED', message: 'Startup failed in Consumer in AppModule: queue not found' });
    expect(error.cause.message).toBe('queue not found');
    // Consumer finished init, so it is destroyed; it never started, so it is not stopped
    expect(events).toEqual(['Db.start', 'Cache.start', 'Cache.stop', 'Db.stop:startup-rollback', 'Consumer.destroy', 'Db.destroy']);
  });

  it('logs one shutdown summary for a rollback', async () => {
    const lines: { msg?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg?: string }) });
    @injectable() class Db { @onStop() stop() {} @onDestroy() close() {} }
    @injectable() class Broken { constructor(readonly db: Db) {} @onStart() start() { throw new Error('nope'); } }
    @Controller() class Ping { constructor(readonly db: Db) {} @Get('/') ping() { return 1; } }
    @Module({ imports: [HttpModule.forRoot({ port: 0 })], providers: [Db, Broken], controllers: [Ping] }) class AppModule {}
    await expect(bootstrap(AppModule, { logger, signals: false })).rejects.toMatchObject({ code: 'QUIESCE_INIT_FAILED' });
    expect(lines.filter((line) => line.msg?.startsWith('shutdown finished')).length).toBe(1);
    expect(lines.filter((line) => line.msg === 'shutdown started').length).toBe(1);
  });

  it('fails with QUIESCE_STARTUP_TIMEOUT naming the instance whose @onStart is still running, and stops what started', async () => {
    const events: string[] = [];
    @injectable() class Db { @onStart() start() { events.push('Db.start'); } @onStop() stop() { events.push('Db.stop'); } }
    @injectable() class Stuck {
      constructor(readonly db: Db) {}
      @onStart() start(ctx: HookContext) { return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => { events.push('Stuck.aborted'); resolve(); })); }
    }
    @Module({ providers: [Db, Stuck] }) class AppModule {}
    const error = (await bootstrap(AppModule, { ...quiet, startupTimeout: 80 }).catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe('QUIESCE_STARTUP_TIMEOUT');
    expect(error.message).toMatch(/^Startup timed out after 80 ms while Stuck in AppModule was starting/);
    expect(events).toEqual(['Db.start', 'Stuck.aborted', 'Db.stop']);
  });

  it('opens the HTTP listener only after every @onStart, and rolls back the started hooks when it cannot listen', async () => {
    const events: string[] = [];
    @Controller() class Ping { @Get('/') ping() { return 1; } }
    @Module({ imports: [HttpModule.forRoot({ port: 0 })], controllers: [Ping] }) class First {}
    const first = await bootstrap(First, quiet);
    const port = Number(new URL(first.url!).port);

    @injectable() class Consumer {
      @onStart() async start() { await sleep(20); events.push('Consumer.start'); }
      @onStop() stop() { events.push('Consumer.stop'); }
    }
    @Module({ imports: [HttpModule.forRoot({ port })], providers: [Consumer], controllers: [Ping] }) class Second {}
    await expect(bootstrap(Second, quiet)).rejects.toMatchObject({ code: 'QUIESCE_INIT_FAILED', message: expect.stringMatching(/^Startup failed in http: .*EADDRINUSE/) });
    // the listen was tried (and failed) only once the start hook had finished
    expect(events).toEqual(['Consumer.start', 'Consumer.stop']);
    await first.close();
  });
});

describe('stop phase', () => {
  it('stops a consumer no controller uses at once, while HTTP is still in drainDelay; no @onDestroy starts before the last stop step ended', async () => {
    const rec = recorder();
    @injectable() class Db {
      @onStop() stop() { rec.mark('Db.stop'); }
      @onDestroy() close() { rec.mark('Db.destroy'); }
    }
    @injectable() class Users { constructor(readonly db: Db) {} @onStop() async stop() { rec.mark('Users.stop'); } }
    @injectable() class Consumer {
      constructor(readonly db: Db) {}
      @onStop() async stop() { rec.mark('Consumer.stop:begin'); await sleep(20); rec.mark('Consumer.stop:end'); }
      @onDestroy() close() { rec.mark('Consumer.destroy'); }
    }
    @Controller() class UserController { constructor(readonly users: Users) {} @Get('/u') get() { return []; } }
    @Module({ imports: [HttpModule.forRoot({ port: 0, drainDelay: 300 })], providers: [Db, Users, Consumer], controllers: [UserController] })
    class AppModule {}

    const app = await bootstrap(AppModule, quiet);
    rec.mark('close');
    const report = await app.close('test');
    expect(report.ok).toBe(true);
    const http = step(report.steps, 'http', 'http');
    const consumer = step(report.steps, 'Consumer', 'stop');
    // the consumer stops at once, long before the drain ends
    expect(consumer.startMs).toBeLessThan(50);
    expect(consumer.endMs).toBeLessThan(http.endMs);
    expect(rec.at('Consumer.stop:end')).toBeLessThan(rec.at('close') + 300);
    // what a controller uses stops only after the drain, and Db after both of its dependents
    expect(step(report.steps, 'Users', 'stop').startMs).toBeGreaterThanOrEqual(http.endMs);
    expect(http.endMs - http.startMs).toBeGreaterThanOrEqual(290);
    expect(rec.at('Db.stop')).toBeGreaterThanOrEqual(rec.at('Users.stop'));
    expect(rec.at('Db.stop')).toBeGreaterThanOrEqual(rec.at('Consumer.stop:end'));
    // the destroy phase starts after the whole stop phase
    const lastStop = Math.max(...report.steps.filter((s) => s.kind !== 'destroy').map((s) => s.endMs));
    for (const destroy of report.steps.filter((s) => s.kind === 'destroy')) expect(destroy.startMs).toBeGreaterThanOrEqual(lastStop);
    expect(rec.at('Consumer.destroy')).toBeGreaterThanOrEqual(rec.at('Db.stop'));
    expect(report.steps.map((s) => [s.id, s.kind])).toEqual([
      ['http', 'http'],
      ['Consumer', 'stop'],
      ['Users', 'stop'],
      ['Db', 'stop'],
      ['Consumer', 'destroy'],
      ['Db', 'destroy'],
    ]);
  });

  it('gives stop hooks the one shutdown deadline and reason, and reports a stop hook past its own timeout without holding the rest', async () => {
    const seen: HookContext[] = [];
    const events: string[] = [];
    @injectable() class Db {
      @onStop() stop(ctx: HookContext) { seen.push(ctx); events.push('Db.stop'); }
      @onDestroy() close(ctx: HookContext) { seen.push(ctx); events.push('Db.destroy'); }
    }
    @injectable() class Hung {
      constructor(readonly db: Db) {}
      @onStop({ timeout: 30 }) stop(ctx: HookContext) { seen.push(ctx); return new Promise<void>(() => {}); }
    }
    @Module({ providers: [Db, Hung, { provide: 'pool', useValue: {}, dispose: (_: unknown, ctx: HookContext) => void seen.push(ctx) }] })
    class AppModule {}
    const app = await createTestApp(AppModule, { shutdownTimeout: 5_000 });
    const before = Date.now();
    const report = await app.close('test');
    expect(events).toEqual(['Db.stop', 'Db.destroy']);
    expect(report.steps.map((s) => [s.id, s.kind, s.status])).toEqual([
      ['Hung', 'stop', 'timeout'],
      ['Db', 'stop', 'ok'],
      ['pool', 'destroy', 'ok'],
      ['Db', 'destroy', 'ok'],
    ]);
    expect(seen).toHaveLength(4); // Hung.stop, Db.stop, pool dispose(instance, ctx), Db.destroy
    const deadlines = new Set(seen.map((ctx) => ctx.deadline));
    expect(deadlines.size).toBe(1);
    const [deadline] = deadlines;
    expect(deadline).toBeGreaterThanOrEqual(before + 5_000);
    expect(deadline).toBeLessThan(before + 5_100);
    expect(seen.every((ctx) => ctx.reason === 'test')).toBe(true);
  });

  it('stops an instance with @onStop but no @onStart, and one with @onStart but no @onStop passes the order through', async () => {
    const events: string[] = [];
    @injectable() class Pool { @onStop() stop() { events.push('Pool.stop'); } }
    @injectable() class Middle { constructor(readonly pool: Pool) {} @onStart() start() { events.push('Middle.start'); } }
    @injectable() class Top { constructor(readonly middle: Middle) {} @onStop() async stop() { await sleep(20); events.push('Top.stop'); } }
    @Module({ providers: [Pool, Middle, Top] }) class AppModule {}
    const app = await createTestApp(AppModule);
    const report = await app.close();
    expect(events).toEqual(['Middle.start', 'Top.stop', 'Pool.stop']);
    expect(report.steps.map((s) => s.id)).toEqual(['Top', 'Pool']);
  });

  it('never calls the start or stop hooks of a useValue', async () => {
    const events: string[] = [];
    class Hooked { @onStart() start() { events.push('start'); } @onStop() stop() { events.push('stop'); } }
    @Module({ providers: [{ provide: 'value', useValue: new Hooked() }] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect((await app.close()).steps).toEqual([]);
    expect(events).toEqual([]);
  });
});

describe('the HTTP server as a participant', () => {
  it('is a node of the graph whose id never collides with a provider token', async () => {
    @injectable() class Svc {}
    @Controller() class Ping { constructor(readonly svc: Svc) {} @Get('/') ping() { return 1; } }
    @Module({ imports: [HttpModule.forRoot()], providers: [Svc, { provide: 'http', useValue: 'a user token named http' }], controllers: [Ping] })
    class AppModule {}
    const app = await createTestApp(AppModule);
    const graph = app.graph();
    const ids = graph.nodes.map((node) => node.id);
    expect(new Set(ids).size).toBe(ids.length);
    const pingUsers = graph.edges.filter((edge) => edge.to === 'Ping').map((edge) => edge.from);
    expect(pingUsers).toHaveLength(1);
    const httpNode = graph.nodes.find((node) => node.id === pingUsers[0])!;
    expect(httpNode).toMatchObject({ name: 'http', scope: 'singleton', disposable: true });
    // the user's 'http' token is another node, with another id
    expect(graph.nodes.filter((node) => node.name === 'http')).toHaveLength(2);
    const report = await app.close();
    expect(report.steps.map((s) => [s.id, s.kind])).toEqual([[httpNode.id, 'http']]);
  });

  it('answers readiness 503 from the moment shutdown starts, while stop hooks run', async () => {
    let url = '';
    let readiness: number | undefined;
    @injectable() class Consumer {
      @onStop() async stop() {
        const res = await request(`${url}/readyz`);
        readiness = res.statusCode;
        await res.body.dump();
      }
    }
    @Module({ imports: [HttpModule.forRoot({ port: 0, drainDelay: 200 })], providers: [Consumer] }) class AppModule {}
    const app = await bootstrap(AppModule, quiet);
    url = app.url!;
    expect((await app.close()).ok).toBe(true);
    expect(readiness).toBe(503);
  });
});

describe('the HTTP step cut off by the global deadline', () => {
  it('names the requests still running in the report', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    @Controller() class Slow { @Get('/slow') async slow() { entered(); await sleep(5_000); return 'late'; } }
    @Module({ imports: [HttpModule.forRoot({ port: 0, drainTimeout: 60_000 })], controllers: [Slow] }) class AppModule {}
    const app = await bootstrap(AppModule, { ...quiet, shutdownTimeout: 300 });
    const pending = request(`${app.url}/slow`).catch(() => undefined);
    await inHandler;
    const report = await app.close();
    const http = step(report.steps, 'http', 'http');
    expect(http.status).toBe('timeout');
    expect(http.error).toMatch(/1 request still running/);
    await pending;
  });
});

describe('createScope', () => {
  it('a scope opened before shutdown still creates request-scoped instances over singletons during the stop phase', async () => {
    // Root cause: the shutdown handed the app's singletons over to the destroy plan (and forgot them) before
    // the stop phase ran, so a consumer finishing an in-flight message in a scope opened before SIGTERM got
    // "Cannot resolve Db: the app is stopped" and its message was requeued (a redelivery).
    @injectable() class Db { @onDestroy() close() {} }
    @injectable() class Handler { constructor(readonly db: Db) {} }
    @Module({ providers: [Db, { provide: Handler, useClass: Handler, scope: 'request' }] }) class AppModule {}
    const app = await createTestApp(AppModule, { shutdownTimeout: 5_000 });
    const scope = app.createScope();
    const closing = app.close('test');
    expect(scope.get(Handler).db).toBeInstanceOf(Db);
    await scope.close();
    const report = await closing;
    expect(report.ok).toBe(true);
    expect(step(report.steps, 'Db', 'destroy').status).toBe('ok');
  });

  it('throws QUIESCE_STOPPING once the app is stopping or stopped', async () => {
    @Module({}) class AppModule {}
    const app = await createTestApp(AppModule);
    const closing = app.close();
    expect(() => app.createScope()).toThrow(expect.objectContaining({ code: 'QUIESCE_STOPPING' }));
    await closing;
    expect(() => app.createScope()).toThrow(expect.objectContaining({ code: 'QUIESCE_STOPPING' }));
  });

  it('a scope still open at shutdown is in-flight work: no destroy step starts before its owner closed it', async () => {
    const rec = recorder();
    @injectable() class Db { @onDestroy() close() { rec.mark('Db.destroy'); } }
    @injectable() class Handler { constructor(readonly db: Db) {} @onDestroy() end() { rec.mark('Handler.destroy'); } }
    @injectable() class Consumer { @onStop() stop() { rec.mark('Consumer.stop'); } }
    @Module({ providers: [Db, Consumer, { provide: Handler, useClass: Handler, scope: 'request' }] }) class AppModule {}
    const app = await createTestApp(AppModule, { shutdownTimeout: 5_000 });
    const scope = app.createScope();
    expect(scope.get(Handler).db).toBeInstanceOf(Db);
    const closing = app.close('test');
    await sleep(100); // the message being handled takes a while
    rec.mark('scope.close');
    await scope.close();
    const report = await closing;
    expect(report.ok).toBe(true);
    expect(rec.names()).toEqual(['Consumer.stop', 'scope.close', 'Handler.destroy', 'Db.destroy']);
    const scopes = step(report.steps, 'scopes', 'stop');
    expect(scopes.endMs).toBeGreaterThanOrEqual(95);
    expect(step(report.steps, 'Db', 'destroy').startMs).toBeGreaterThanOrEqual(scopes.endMs);
  });
});
