import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { createTestApp, inject, injectable, Module, onDestroy, onInit, token } from '../../src/index.js';

describe('providers and modules', () => {
  it('supports every provider form and token kind', async () => {
    const CONFIG = token<{ url: string }>('Config');
    const SYM = Symbol('greeting');
    abstract class Db { abstract query(): string }
    @injectable() class PgDb extends Db { query() { return 'pg'; } }
    @injectable()
    class UserService {
      constructor(readonly db: Db, @inject(CONFIG) readonly cfg: { url: string }, @inject('count') readonly count: number, @inject(SYM) readonly greeting: string) {}
    }
    @Module({
      providers: [
        UserService,
        { provide: CONFIG, useValue: { url: 'postgres://x' } },
        { provide: Db, useClass: PgDb },
        { provide: 'count', useFactory: async (cfg: { url: string }) => cfg.url.length, inject: [CONFIG] },
        { provide: SYM, useFactory: () => 'hello' },
      ],
    })
    class AppModule {}

    const app = await createTestApp(AppModule);
    const users = app.get(UserService);
    expect(users.db.query()).toBe('pg');
    expect(users.cfg.url).toBe('postgres://x');
    expect(users.count).toBe('postgres://x'.length);
    expect(users.greeting).toBe('hello');
    const cfg: { url: string } = app.get(CONFIG); // typed by the token
    expect(cfg).toBe(users.cfg);
    await app.close();
  });

  it('loads a module imported many times once', async () => {
    let built = 0;
    @injectable() class Shared { constructor() { built++; } }
    @Module({ providers: [Shared] }) class SharedModule {}
    @Module({ imports: [SharedModule] }) class A {}
    @Module({ imports: [SharedModule] }) class B {}
    @Module({ imports: [A, B, SharedModule] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(built).toBe(1);
    await app.close();
  });

  it('accepts dynamic modules', async () => {
    const OPTS = token<{ n: number }>('Opts');
    @Module({}) class ConfigModule {
      static forRoot(n: number) { return { module: ConfigModule, providers: [{ provide: OPTS, useValue: { n } }] }; }
    }
    @Module({ imports: [ConfigModule.forRoot(7)] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(app.get(OPTS).n).toBe(7);
    await app.close();
  });

  it('creates singletons eagerly in topological order, once', async () => {
    const order: string[] = [];
    @injectable() class Pool { constructor() { order.push('Pool'); } }
    @injectable() class Repo { constructor(readonly pool: Pool) { order.push('Repo'); } }
    @injectable() class Service { constructor(readonly repo: Repo, readonly pool: Pool) { order.push('Service'); } }
    @Module({ providers: [Service, Repo, Pool] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(order).toEqual(['Pool', 'Repo', 'Service']);
    expect(app.get(Service).repo).toBe(app.get(Repo));
    await app.close();
  });

  it('creates a new transient on every resolution and getAsync awaits async ones', async () => {
    let n = 0;
    @injectable() class Counter { readonly id = ++n; }
    @Module({
      providers: [
        { provide: Counter, useClass: Counter, scope: 'transient' },
        { provide: 'slow', useFactory: async () => 'ready', scope: 'transient' },
      ],
    })
    class AppModule {}
    const app = await createTestApp(AppModule);
    expect(app.get(Counter).id).not.toBe(app.get(Counter).id);
    expect(() => app.get('slow')).toThrow(expect.objectContaining({ code: 'QUIESCE_ASYNC_RESOLUTION' }));
    await expect(app.getAsync('slow')).resolves.toBe('ready');
    await app.close();
  });

  it('injects a thenable value as it is, never awaiting it', async () => {
    const thenable = { then: () => { throw new Error('must not be awaited'); } };
    @injectable() class Uses { constructor(@inject('builder') readonly builder: unknown) {} }
    @Module({ providers: [Uses, { provide: 'builder', useValue: thenable }] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(app.get(Uses).builder).toBe(thenable);
    await app.close();
  });

  it('bootstraps a 2,000-deep chain (deep graphs are not cycles)', async () => {
    const providers = Array.from({ length: 2000 }, (_, i) => ({
      provide: `n${i}`,
      useFactory: (prev?: number): number => (prev ?? 0) + 1,
      inject: i === 0 ? [] : [`n${i - 1}`],
    }));
    @Module({ providers }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(app.get('n1999')).toBe(2000);
    await app.close();
  });

  it('overrides replace providers by token in any module, and the graph is validated with them', async () => {
    @injectable() class Db { name = 'real'; }
    @injectable() class Users { constructor(readonly db: Db) {} }
    @Module({ providers: [Db] }) class DbModule {}
    @Module({ imports: [DbModule], providers: [Users] }) class AppModule {}
    const app = await createTestApp(AppModule, { overrides: [{ provide: Db, useValue: { name: 'fake' } }] });
    expect(app.get(Users).db.name).toBe('fake');
    await app.close();
    await expect(createTestApp(AppModule, { overrides: [{ provide: Db, useFactory: (x: unknown) => x, inject: ['nothing'] }] })).rejects.toMatchObject({
      code: 'QUIESCE_MISSING_PROVIDER',
    });
  });

  it('app.get throws QUIESCE_STOPPING during and after shutdown', async () => {
    let release!: () => void;
    @injectable() class Slow { @onDestroy() stop() { return new Promise<void>((r) => (release = r)); } }
    @Module({ providers: [Slow] }) class AppModule {}
    const app = await createTestApp(AppModule);
    const closing = app.close();
    expect(app.state).toBe('stopping');
    expect(() => app.get(Slow)).toThrow(expect.objectContaining({ code: 'QUIESCE_STOPPING', message: 'Cannot resolve Slow: the app is stopping.' }));
    release();
    await closing;
    expect(app.state).toBe('stopped');
    expect(() => app.get(Slow)).toThrow(expect.objectContaining({ code: 'QUIESCE_STOPPING' }));
    await expect(app.getAsync(Slow)).rejects.toMatchObject({ code: 'QUIESCE_STOPPING' });
  });

  it('runs init hooks after the init hooks of dependencies, and provider init after class hooks', async () => {
    const events: string[] = [];
    @injectable() class Db { @onInit() async connect() { await Promise.resolve(); events.push('Db.connect'); } }
    @injectable() class Users {
      constructor(readonly db: Db) { events.push('Users.ctor'); }
      @onInit() warm() { events.push('Users.warm'); }
    }
    @Module({ providers: [Db, { provide: Users, useClass: Users, init: () => { events.push('Users init()'); } }] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(events).toEqual(['Db.connect', 'Users.ctor', 'Users.warm', 'Users init()']);
    await app.close();
  });
});
