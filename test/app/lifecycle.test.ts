import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { bootstrap, createTestApp, injectable, Module, onDestroy, onInit, type DestroyContext } from '../../src/index.js';

const quiet = { logger: false, signals: false } as const;

describe('shutdown through the container', () => {
  it('destroys a provider only after everything that depends on it, each exactly once, in contract order', async () => {
    const events: string[] = [];
    @injectable() class Pool {
      @onDestroy() drain() { events.push('Pool.drain'); }
      async [Symbol.asyncDispose]() { events.push('Pool.asyncDispose'); }
    }
    @injectable() class Cache { constructor(readonly pool: Pool) {} } // no destroy step: ordering passes through it
    @injectable() class Writer {
      constructor(readonly cache: Cache) {}
      @onDestroy() async flush(ctx: DestroyContext) {
        await new Promise((r) => setTimeout(r, 20));
        events.push(`Writer.flush:${ctx.reason}`);
      }
    }
    @Module({ providers: [Writer, Cache, { provide: Pool, useClass: Pool, dispose: () => void events.push('Pool dispose()') }] })
    class AppModule {}

    const app = await createTestApp(AppModule);
    const report = await app.close('test');
    expect(events).toEqual(['Writer.flush:test', 'Pool.drain', 'Pool.asyncDispose', 'Pool dispose()']);
    expect(report.ok).toBe(true);
    expect(report.steps.map((s) => [s.id, s.kind, s.status])).toEqual([
      ['Writer', 'destroy', 'ok'],
      ['Pool', 'destroy', 'ok'],
    ]);
    const [writer, pool] = report.steps;
    expect(writer!.endMs).toBeLessThanOrEqual(pool!.startMs);
    expect(await app.close()).toBe(report); // idempotent: same report
  });

  it('frees what a provider was built from last-created first once it is destroyed, also through a shared dependency', async () => {
    const events: string[] = [];
    @injectable() class A { @onDestroy() d() { events.push('A'); } }
    @injectable() class B { @onDestroy() d() { events.push('B'); } }
    @injectable() class C { constructor(readonly a: A) {} @onDestroy() d() { events.push('C'); } }
    @injectable() class Top { constructor(readonly a: A, readonly b: B, readonly c: C) {} @onDestroy() d() { events.push('Top'); } }
    @Module({ providers: [A, B, C, Top] })
    class AppModule {}

    const app = await createTestApp(AppModule);
    const report = await app.close();
    // created A, B, C, Top; A waits for both Top and C, so it goes last
    expect(events).toEqual(['Top', 'C', 'B', 'A']);
    expect(report.steps.map((s) => s.id)).toEqual(['Top', 'C', 'B', 'A']);
  });

  it('close() returns the same promise on every call', async () => {
    @Module({}) class Empty {}
    const app = await createTestApp(Empty);
    expect(app.close()).toBe(app.close('other'));
    await app.close();
  });

  it('never disposes a useValue unless its provider gives dispose, and then only that', async () => {
    const events: string[] = [];
    const value = { [Symbol.asyncDispose]: async () => void events.push('value asyncDispose') };
    const withDispose = { [Symbol.asyncDispose]: async () => void events.push('never') };
    @Module({
      providers: [
        { provide: 'plain', useValue: value },
        { provide: 'owned', useValue: withDispose, dispose: () => void events.push('owned dispose()') },
      ],
    })
    class AppModule {}
    const app = await createTestApp(AppModule);
    const report = await app.close();
    expect(events).toEqual(['owned dispose()']);
    expect(report.steps.map((s) => s.name)).toEqual(['owned']);
  });

  it('destroys transients the app created with it, after their dependents', async () => {
    const events: string[] = [];
    let n = 0;
    @injectable() class Conn { readonly id = ++n; @onDestroy() close() { events.push(`Conn${this.id}`); } }
    @injectable() class A { constructor(readonly c: Conn) {} @onDestroy() stop() { events.push('A'); } }
    @injectable() class B { constructor(readonly c: Conn) {} @onDestroy() stop() { events.push('B'); } }
    @Module({ providers: [A, B, { provide: Conn, useClass: Conn, scope: 'transient' }] }) class AppModule {}
    const app = await createTestApp(AppModule, { disposeConcurrency: 'sequential' });
    const extra = app.get(Conn);
    expect(extra.id).toBe(3);
    const report = await app.close();
    expect(events).toEqual(['Conn3', 'B', 'Conn2', 'A', 'Conn1']);
    expect(report.steps.map((s) => s.id)).toEqual(['Conn[3]', 'B', 'Conn[2]', 'A', 'Conn[1]']);
  });

  it('keeps going after a failing onDestroy and reports every failure', async () => {
    const events: string[] = [];
    @injectable() class Db { @onDestroy() close() { events.push('Db'); } }
    @injectable() class Bad1 { constructor(readonly db: Db) {} @onDestroy() stop() { throw new Error('boom 1'); } }
    @injectable() class Bad2 {
      constructor(readonly db: Db) {}
      @onDestroy() first() { throw new Error('boom 2'); }
      @onDestroy() second() { events.push('Bad2.second'); }
    }
    @Module({ providers: [Db, Bad1, Bad2] }) class AppModule {}
    const app = await createTestApp(AppModule);
    const report = await app.close();
    expect(report.ok).toBe(false);
    expect(events).toEqual(['Bad2.second', 'Db']);
    const byId = Object.fromEntries(report.steps.map((s) => [s.id, s]));
    expect(byId.Bad1).toMatchObject({ status: 'failed', error: 'boom 1' });
    expect(byId.Bad2).toMatchObject({ status: 'failed', error: 'boom 2' });
    expect(byId.Db).toMatchObject({ status: 'ok' });
  });

  it('reports a hook past its own timeout and aborts its signal, without holding its dependencies hostage', async () => {
    let aborted = false;
    @injectable() class Db { @onDestroy() close() {} }
    @injectable() class Hung {
      constructor(readonly db: Db) {}
      @onDestroy({ timeout: 30 }) stop(ctx: DestroyContext) {
        return new Promise<void>(() => ctx.signal.addEventListener('abort', () => (aborted = true)));
      }
    }
    @Module({ providers: [Db, Hung] }) class AppModule {}
    const app = await createTestApp(AppModule);
    const report = await app.close();
    expect(aborted).toBe(true);
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([['Hung', 'timeout'], ['Db', 'ok']]);
    expect(report.steps[0]!.error).toBe('Hung.stop() did not finish within 30 ms. You may have forgotten to resolve a Promise, or to honour ctx.signal.');
  });

  it('works with await using', async () => {
    let destroyed = false;
    @injectable() class Res { @onDestroy() stop() { destroyed = true; } }
    @Module({ providers: [Res] }) class AppModule {}
    {
      await using app = await createTestApp(AppModule);
      expect(app.state).toBe('ready');
    }
    expect(destroyed).toBe(true);
  });
});

describe('startup and rollback', () => {
  it('rolls back what finished init when an init hook fails, and names the provider', async () => {
    const events: string[] = [];
    @injectable() class Db { @onInit() open() { events.push('Db.open'); } @onDestroy() close() { events.push('Db.close'); } }
    @injectable() class Cache { constructor(readonly db: Db) {} @onDestroy() close() { events.push('Cache.close'); } }
    @injectable() class Broken {
      constructor(readonly db: Db) {}
      @onInit() async start() { await Promise.resolve(); throw new Error('port in use'); }
      @onDestroy() stop() { events.push('Broken.stop (must not run)'); }
    }
    @Module({ providers: [Db, Cache, Broken] }) class AppModule {}
    const error = (await bootstrap(AppModule, quiet).catch((e: unknown) => e)) as Error & { code: string; cause: Error };
    expect(error.code).toBe('QUIESCE_INIT_FAILED');
    expect(error.message).toBe('Startup failed in Broken in AppModule: port in use');
    expect(error.cause.message).toBe('port in use');
    expect(events).toEqual(['Db.open', 'Cache.close', 'Db.close']);
  });

  it('does not resolve bootstrap when one of several concurrent inits fails (first failure wins)', async () => {
    @injectable() class Slow { @onInit() async start() { await new Promise((r) => setTimeout(r, 50)); } }
    @injectable() class Fails { @onInit() async start() { throw new Error('nope'); } }
    @Module({ providers: [Slow, Fails] }) class AppModule {}
    await expect(bootstrap(AppModule, quiet)).rejects.toMatchObject({ code: 'QUIESCE_INIT_FAILED' });
  });

  it('fails with QUIESCE_STARTUP_TIMEOUT naming the provider still starting, and rolls back', async () => {
    const events: string[] = [];
    @injectable() class Db { @onDestroy() close() { events.push('Db.close'); } }
    @injectable() class Stuck { constructor(readonly db: Db) {} @onInit() start() { return new Promise(() => {}); } }
    @Module({ providers: [Db, Stuck] }) class AppModule {}
    const error = (await bootstrap(AppModule, { ...quiet, startupTimeout: 50 }).catch((e: unknown) => e)) as Error & { code: string };
    expect(error.code).toBe('QUIESCE_STARTUP_TIMEOUT');
    expect(error.message).toBe(
      'Startup timed out after 50 ms while Stuck in AppModule was starting. You may have forgotten to resolve a Promise in its factory or init hook.',
    );
    expect(events).toEqual(['Db.close']);
  });

  it('fails startup when an @onInit passes its own timeout, aborting the signal its context carries', async () => {
    let aborted = false;
    @injectable() class Warmup {
      @onInit({ timeout: 20 }) warm(ctx: DestroyContext) {
        expect(ctx.reason).toBe('init');
        expect(ctx.deadline).toBeGreaterThan(Date.now()); // the startup deadline
        expect(ctx.deadline).toBeLessThanOrEqual(Date.now() + 30_000);
        ctx.signal.addEventListener('abort', () => (aborted = true));
        return new Promise(() => {});
      }
    }
    @Module({ providers: [Warmup] }) class AppModule {}
    const error = (await bootstrap(AppModule, quiet).catch((e: unknown) => e)) as Error & { code: string; cause: Error & { code: string } };
    expect(error.code).toBe('QUIESCE_INIT_FAILED');
    expect(error.cause.code).toBe('QUIESCE_HOOK_TIMEOUT');
    expect(error.message).toBe(
      'Startup failed in Warmup in AppModule: Warmup.warm() did not finish within 20 ms. You may have forgotten to resolve a Promise, or to honour ctx.signal.',
    );
    expect(aborted).toBe(true);
  });

  it('runs the init hooks of a transient created by getAsync, and get() refuses it', async () => {
    let inits = 0;
    @injectable() class Conn { @onInit() async open() { await Promise.resolve(); inits++; } }
    @Module({ providers: [{ provide: Conn, useClass: Conn, scope: 'transient' }] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(() => app.get(Conn)).toThrow(expect.objectContaining({ code: 'QUIESCE_ASYNC_RESOLUTION' }));
    expect(await app.getAsync(Conn)).toBeInstanceOf(Conn);
    expect(inits).toBe(1);
    await app.close();
  });

  it('runs many init hooks at once without a listener-leak warning', async () => {
    // Regression: every running hook listened on the one startup signal, and past 10 Node warned of a leak.
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const providers = Array.from({ length: 30 }, (_, i) => ({
      provide: `svc${i}`,
      useFactory: () => ({}),
      init: () => new Promise<void>((resolve) => setTimeout(resolve, 5)),
      dispose: () => new Promise<void>((resolve) => setTimeout(resolve, 5)),
    }));
    @Module({ providers }) class AppModule {}
    const app = await bootstrap(AppModule, quiet);
    await app.close();
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    process.off('warning', onWarning);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('reports a failing async factory as QUIESCE_INIT_FAILED with the cause', async () => {
    const cause = new Error('ECONNREFUSED');
    @Module({ providers: [{ provide: 'Pool', useFactory: async () => { throw cause; } }] }) class AppModule {}
    const error = (await bootstrap(AppModule, quiet).catch((e: unknown) => e)) as Error & { code: string };
    expect(error).toMatchObject({ code: 'QUIESCE_INIT_FAILED', cause });
  });
});
