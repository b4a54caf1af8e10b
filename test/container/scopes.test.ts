/**
 * Work scopes (CONTRACT §11): app.createScope() and container.openScope() own request-scoped instances
 * and the Disposable transients resolved through them, and destroy them on close, in reverse dependency order.
 */
import 'reflect-metadata';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Container } from '../../src/container/container.js';
import { buildGraph } from '../../src/container/graph.js';
import { loadModules } from '../../src/container/modules.js';
import { createLogger } from '../../src/logger.js';
import {
  createTestApp,
  HookTimeoutError,
  inject,
  injectable,
  Module,
  onDestroy,
  onInit,
  QuiesceError,
  type DestroyContext,
} from '../../src/index.js';
import { deferred } from '../support/async.js';

@injectable()
class Db {
  closed = false;
  @onDestroy() close() {
    this.closed = true;
  }
}

function scopeModule(events: string[]) {
  @injectable()
  class Tx {
    constructor(readonly db: Db) {}
    @onDestroy() end(ctx: DestroyContext) {
      events.push(`Tx.end:${ctx.reason}`);
      if (this.db.closed) events.push('Tx.end after Db closed!');
    }
  }
  @injectable()
  class Repo {
    constructor(readonly tx: Tx) {} // not Disposable: the order passes through it
  }
  @injectable()
  class Handler {
    constructor(
      readonly repo: Repo,
      readonly tx: Tx,
    ) {}
    @onDestroy() async done() {
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push('Handler.done');
    }
  }
  @injectable()
  class Temp {
    @onDestroy() gone() {
      events.push('Temp.gone');
    }
  }
  @Module({
    providers: [
      Db,
      { provide: Tx, useClass: Tx, scope: 'request' },
      { provide: Repo, useClass: Repo, scope: 'request' },
      { provide: Handler, useClass: Handler, scope: 'request' },
      { provide: Temp, useClass: Temp, scope: 'transient' },
    ],
  })
  class AppModule {}
  return { AppModule, Tx, Repo, Handler, Temp };
}

describe('app.createScope()', () => {
  it('gives request-scoped providers one instance per scope', async () => {
    const { AppModule, Tx, Handler } = scopeModule([]);
    const app = await createTestApp(AppModule);
    const one = app.createScope();
    const two = app.createScope();
    expect(one.get(Handler)).toBe(one.get(Handler));
    expect(one.get(Handler).tx).toBe(one.get(Tx));
    expect(two.get(Tx)).not.toBe(one.get(Tx));
    expect(one.get(Db)).toBe(app.get(Db)); // singletons are the app's
    await Promise.all([one.close(), two.close()]);
    await app.close();
  });

  it('destroys what it owns on close, dependents first, and never what the app owns', async () => {
    const events: string[] = [];
    const { AppModule, Handler, Temp } = scopeModule(events);
    const app = await createTestApp(AppModule);
    const scope = app.createScope();
    scope.get(Handler);
    scope.get(Temp); // a Disposable transient resolved through the scope: the scope owns it
    const report = await scope.close();
    expect(report.ok).toBe(true);
    // Handler waits its 5 ms before Tx ends: Tx is destroyed only after every dependent, also through Repo
    expect(events).toEqual(['Temp.gone', 'Handler.done', 'Tx.end:scope-close']);
    expect(report.steps.map((step) => step.name)).toEqual(['Temp', 'Handler', 'Tx']); // Repo has nothing to destroy
    expect(app.get(Db).closed).toBe(false);
    const appReport = await app.close();
    expect(appReport.steps.map((step) => step.name)).toEqual(['Db']);
  });

  it('close() is idempotent: every call returns the same promise, and asyncDispose closes it', async () => {
    const events: string[] = [];
    const { AppModule, Tx } = scopeModule(events);
    const app = await createTestApp(AppModule);
    const scope = app.createScope();
    scope.get(Tx);
    expect(scope.close()).toBe(scope.close());
    await scope.close();
    expect(events).toEqual(['Tx.end:scope-close']);
    {
      await using disposable = app.createScope();
      disposable.get(Tx);
    }
    expect(events).toEqual(['Tx.end:scope-close', 'Tx.end:scope-close']);
    await app.close();
  });

  it('refuses to resolve in a closed scope (QUIESCE_STOPPING)', async () => {
    const { AppModule, Tx } = scopeModule([]);
    const app = await createTestApp(AppModule);
    const scope = app.createScope();
    await scope.close();
    expect(() => scope.get(Tx)).toThrow(expect.objectContaining({ code: 'QUIESCE_STOPPING', message: expect.stringMatching(/Tx: this scope is closed/) }));
    await expect(scope.getAsync(Tx)).rejects.toMatchObject({ code: 'QUIESCE_STOPPING' });
    await app.close();
  });

  it('destroys at once what arrives in a closed scope (an init still running at close)', async () => {
    const gate = deferred();
    const events: string[] = [];
    @injectable()
    class Slow {
      @onInit() async open() {
        await gate.promise;
      }
      @onDestroy() close() {
        events.push('Slow.close');
      }
    }
    @Module({ providers: [{ provide: Slow, useClass: Slow, scope: 'request' }] })
    class AppModule {}
    const app = await createTestApp(AppModule);
    const scope = app.createScope();
    const pending = scope.getAsync(Slow);
    const report = await scope.close();
    expect(report.steps).toEqual([]); // nothing had arrived yet
    gate.resolve();
    await expect(pending).rejects.toMatchObject({ code: 'QUIESCE_STOPPING' });
    await expect.poll(() => events).toEqual(['Slow.close']);
    await app.close();
  });

  it('throws QUIESCE_STOPPING while the app is stopping or stopped', async () => {
    const { AppModule } = scopeModule([]);
    const app = await createTestApp(AppModule);
    await app.close();
    expect(() => app.createScope()).toThrow(expect.objectContaining({ code: 'QUIESCE_STOPPING' }));
  });

  it('says where request-scoped providers live when app.get() asks for one', async () => {
    const { AppModule, Tx } = scopeModule([]);
    const app = await createTestApp(AppModule);
    expect(() => app.get(Tx)).toThrow(expect.objectContaining({ code: 'QUIESCE_SCOPE', message: expect.stringMatching(/app\.createScope\(\)/) }));
    await app.close();
  });
});

function containerFor(module: object): Container {
  const graph = buildGraph(loadModules(module as never));
  return new Container(graph, createLogger(false), 1_000);
}

describe('container.openScopes', () => {
  it('counts open scopes and resolves whenEmpty once the last one is closed', async () => {
    const { AppModule, Tx } = scopeModule([]);
    const app = await createTestApp(AppModule);
    const one = app.createScope();
    const two = app.createScope();
    two.get(Tx);
    // the container is internal; reach it the way the stop phase does
    const scopes = (app as unknown as { container: Container }).container.openScopes;
    expect(scopes.size).toBe(2);
    let empty = false;
    void scopes.whenEmpty().then(() => (empty = true));
    await one.close();
    await Promise.resolve();
    expect(empty).toBe(false);
    await two.close();
    await expect.poll(() => empty).toBe(true);
    expect(scopes.size).toBe(0);
    await app.close();
  });

  it('closeAll destroys the scopes nobody closed and rejects naming how many, so the step is reported', async () => {
    const events: string[] = [];
    const { AppModule, Tx } = scopeModule(events);
    const container = containerFor(AppModule);
    for (const task of container.startupTasks()) await task.run(new AbortController().signal);
    container.openScope().get(Tx);
    container.openScope();
    const error = await container.openScopes
      .closeAll({ signal: new AbortController().signal, deadline: Date.now() + 1_000, reason: 'SIGTERM' })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(HookTimeoutError);
    expect((error as Error).message).toMatch(/2 scopes still open .*1 instance destroyed/);
    expect(events).toEqual(['Tx.end:SIGTERM']);
    expect(container.openScopes.size).toBe(0);
    await expect(container.openScopes.closeAll({ signal: new AbortController().signal, deadline: Date.now(), reason: 'x' })).resolves.toBeUndefined();
  });
});

describe('what a closed owner keeps', () => {
  // Root cause (issue 10 item 10): the app kept every record of what it created, Disposable transients from
  // app.get() included, after close(): 100k of them left 119 MB reachable from a closed App.
  it('a closed app releases the instances it created', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    @injectable()
    class Handle {
      readonly payload = new Array(64).fill(0);
      @onDestroy() close() {}
    }
    @Module({ providers: [{ provide: Handle, useClass: Handle, scope: 'transient' }] })
    class AppModule {}
    const app = await createTestApp(AppModule);
    const refs: WeakRef<Handle>[] = [];
    for (let i = 0; i < 1_000; i++) refs.push(new WeakRef(app.get(Handle)));
    const report = await app.close();
    expect(report.steps).toHaveLength(1_000);
    expect(report.ok).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
    expect(app.state).toBe('stopped'); // the app itself is still referenced here
  });

  it('a closed scope releases its instances', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { AppModule, Tx } = scopeModule([]);
    const app = await createTestApp(AppModule);
    const scope = app.createScope();
    const ref = new WeakRef(scope.get(Tx));
    await scope.close();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(ref.deref()).toBeUndefined();
    expect(scope).toBeDefined();
    await app.close();
  });
});

describe('scope errors', () => {
  it('is a QuiesceError for a token nobody provides', async () => {
    const { AppModule } = scopeModule([]);
    const app = await createTestApp(AppModule);
    const scope = app.createScope();
    expect(() => scope.get('nope')).toThrow(QuiesceError);
    await scope.close();
    await app.close();
  });

  it('resolves async providers through getAsync, and reports get() of one clearly', async () => {
    @injectable()
    class Conn {
      @onInit() async open() {}
      @onDestroy() close() {}
    }
    @injectable()
    class UsesConn {
      constructor(@inject(Conn) readonly conn: Conn) {}
    }
    @Module({ providers: [{ provide: Conn, useClass: Conn, scope: 'request' }, { provide: UsesConn, useClass: UsesConn, scope: 'request' }] })
    class AppModule {}
    const app = await createTestApp(AppModule);
    const scope = app.createScope();
    expect(() => scope.get(Conn)).toThrow(expect.objectContaining({ code: 'QUIESCE_ASYNC_RESOLUTION' }));
    const uses = await scope.getAsync(UsesConn);
    expect(uses.conn).toBe(await scope.getAsync(Conn));
    expect((await scope.close()).steps.map((step) => step.name)).toEqual(['Conn']);
    await app.close();
  });
});

describe('what the container records', () => {
  // Root cause (issue 13): every instance stored the nearest Disposables it reached through instances without
  // a destroy step (filled with Array.includes), so a hub without hooks between D Disposables below and N
  // dependents above cost N × D entries (and quadratic time) at bootstrap. Records now keep their direct
  // dependencies only, and the destroy plan relays the order through the hub.
  it('keeps memory linear in the edges, and still destroys every dependent before what the hub uses', async () => {
    const events: string[] = [];
    const count = 100;
    const below = Array.from({ length: count }, (_, i) => {
      const Below = { [`Below${i}`]: class { close() { events.push(`below:${i}`); } } }[`Below${i}`]!;
      onDestroy()(Below.prototype, 'close', Object.getOwnPropertyDescriptor(Below.prototype, 'close')!);
      return Below;
    });
    const hub = { provide: 'Hub', useFactory: (...deps: unknown[]) => ({ deps }), inject: below };
    const above = Array.from({ length: count }, (_, i) => ({
      provide: `Above${i}`,
      useFactory: (h: unknown) => ({ h }),
      inject: ['Hub'],
      dispose: () => void events.push(`above:${i}`),
    }));
    @Module({ providers: [...below, hub, ...above] })
    class AppModule {}
    const container = containerFor(AppModule);
    for (const task of container.startupTasks()) await task.run(new AbortController().signal);
    const records = container.appOwner.records;
    expect(records).toHaveLength(2 * count + 1);
    expect(records.reduce((sum, record) => sum + record.deps.length, 0)).toBe(2 * count); // one per edge, not count²
    const plan = container.destroyPlan();
    const { runPlan } = await import('../../src/lifecycle/shutdown.js');
    const report = await runPlan(plan, { reason: 'test', timeoutMs: 1_000, concurrency: 'graph' });
    expect(report.steps).toHaveLength(2 * count); // the hub relays, it is not a step
    const lastAbove = Math.max(...events.map((e, i) => (e.startsWith('above') ? i : -1)));
    const firstBelow = events.findIndex((e) => e.startsWith('below'));
    expect(lastAbove).toBeLessThan(firstBelow);
    container.releaseApp();
    expect(container.appOwner.records).toHaveLength(0); // released: a closed app keeps none
  });
});
