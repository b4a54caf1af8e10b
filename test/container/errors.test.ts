import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { bootstrap, createTestApp, inject, injectable, Module, optional, QuiesceError, token } from '../../src/index.js';

const quiet = { logger: false, signals: false } as const;

async function failure(promise: Promise<unknown>): Promise<QuiesceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QuiesceError);
  return error as QuiesceError;
}

describe('graph validation errors name the path', () => {
  it('reports a cycle with its whole path, first node repeated', async () => {
    const GAMMA = token<unknown>('Gamma');
    @injectable() class Alpha { constructor(@inject('Beta') readonly b: unknown) {} }
    @injectable() class Beta { constructor(@inject(GAMMA) readonly g: unknown) {} }
    @injectable() class Gamma { constructor(readonly a: Alpha) {} }
    @Module({ providers: [Alpha, { provide: 'Beta', useClass: Beta }, { provide: GAMMA, useClass: Gamma }] })
    class CycleModule {}
    @Module({ imports: [CycleModule] }) class AppModule {}

    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_CYCLE');
    expect(error.message).toBe(
      'Dependency cycle: Alpha -> Beta -> Gamma -> Alpha\n' +
        '  Alpha in CycleModule (AppModule -> CycleModule)\n' +
        '  Beta in CycleModule (AppModule -> CycleModule)\n' +
        '  Gamma in CycleModule (AppModule -> CycleModule)\n' +
        '  Constructor injection cannot build a cycle: move what the providers share into a new provider they all depend on.',
    );
  });

  it('reports a missing provider with the token, the requester, the chain from the root and the module', async () => {
    class Pool {}
    @injectable() class UserRepo { constructor(readonly pool: Pool) {} }
    @injectable() class UserService { constructor(readonly repo: UserRepo) {} }
    @injectable() class UserController { constructor(readonly users: UserService) {} }
    @Module({ providers: [UserRepo, UserService, UserController] }) class UsersModule {}
    @Module({ imports: [UsersModule] }) class AppModule {}

    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_MISSING_PROVIDER');
    expect(error.message).toBe(
      'No provider for Pool, needed by UserRepo (parameter #0 of UserRepo).\n' +
        '  Resolution path: UserController -> UserService -> UserRepo -> Pool\n' +
        '  UserRepo is declared in UsersModule (AppModule -> UsersModule).\n' +
        '  Add a provider for Pool to a module that AppModule imports, or mark the dependency @optional().',
    );
  });

  it('reports a duplicate token with both modules', async () => {
    const DB = token<string>('Db');
    @Module({ providers: [{ provide: DB, useValue: 'a' }] }) class DbModule {}
    @Module({ providers: [{ provide: DB, useValue: 'b' }] }) class OtherModule {}
    @Module({ imports: [DbModule, OtherModule] }) class AppModule {}

    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_DUPLICATE_PROVIDER');
    expect(error.message).toBe(
      'Two providers for Db: one in DbModule (AppModule -> DbModule) and one in OtherModule (AppModule -> OtherModule). ' +
        'Keep one; to replace a provider in tests, use createTestApp(..., { overrides }).',
    );
  });

  it('reports a singleton that would capture a request-scoped provider, naming both and the path', async () => {
    @injectable() class RequestContext {}
    @injectable() class Helper { constructor(readonly ctx: RequestContext) {} }
    @injectable() class Reports { constructor(readonly helper: Helper) {} }
    @Module({
      providers: [Reports, { provide: Helper, useClass: Helper, scope: 'transient' }, { provide: RequestContext, useClass: RequestContext, scope: 'request' }],
    })
    class AppModule {}

    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_SCOPE');
    expect(error.message).toBe(
      'Reports (singleton, AppModule) would capture request-scoped RequestContext: Reports (singleton) -> Helper (transient) -> RequestContext (request). ' +
        "A singleton outlives every request. Make Reports request-scoped ({ provide: Reports, useClass: Reports, scope: 'request' }), or pass request data as method arguments.",
    );
  });

  it('names the parameter and the fix when a constructor parameter has no usable type', async () => {
    interface Config { url: string }
    @injectable() class Client { constructor(readonly config: Config) {} }
    @Module({ providers: [Client] }) class AppModule {}

    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_UNRESOLVABLE_PARAMETER');
    expect(error.message).toBe(
      'parameter #0 of Client has type Object, which quiesce cannot inject: an interface, type alias, union or primitive leaves no runtime type. ' +
        'Inject it by token: @inject(MY_TOKEN) with { provide: MY_TOKEN, ... } in a module. ' +
        "If it is a class, check that Client's file imports it as a value (not `import type`) and that emitDecoratorMetadata is on.",
    );
  });

  it('rejects a class with constructor parameters but no @injectable()', async () => {
    class Db {}
    class Plain { constructor(readonly db: Db) {} }
    @Module({ providers: [Db, Plain] }) class AppModule {}

    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_INVALID_PROVIDER');
    expect(error.message).toBe(
      'Plain (AppModule.providers[1]) has constructor parameters but is not decorated with @injectable(), so its dependencies are unknown. Add @injectable() to Plain.',
    );
  });

  it('rejects a subclass that would silently get undefined constructor arguments', async () => {
    @injectable() class Db {}
    @injectable() class BaseRepo { constructor(readonly db: Db) {} }
    @injectable() class UserRepo extends BaseRepo {}
    @Module({ providers: [Db, UserRepo] }) class AppModule {}

    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_INVALID_PROVIDER');
    expect(error.message).toBe(
      'UserRepo (AppModule.providers[1]) extends BaseRepo, whose constructor takes 1 dependency, but UserRepo declares none: it would be built with undefined arguments. ' +
        "Add @injectFromBase() (from 'inversify') to UserRepo, or give it a constructor that declares them.",
    );
  });

  it('rejects a non-module in imports and says where it is', async () => {
    class NotAModule {}
    @Module({ imports: [NotAModule] }) class AppModule {}
    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_INVALID_PROVIDER');
    expect(error.message).toBe(
      'AppModule imports[0] is NotAModule, which is not a module. Decorate it with @Module({...}), or list it under providers if it is a service.',
    );
  });

  it('rejects an undefined import (a circular import between module files)', async () => {
    @Module({ imports: [undefined as never] }) class AppModule {}
    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.message).toMatch(/^AppModule imports\[0\] is undefined\. This usually means a circular import/);
  });

  it.each([
    [{ provide: 'x' }, "AppModule.providers[0] (x) in AppModule must have exactly one of useClass, useValue, useFactory; it has none."],
    [{ provide: 'x', useValue: 1, useFactory: (): number => 2 }, 'AppModule.providers[0] (x) in AppModule must have exactly one of useClass, useValue, useFactory; it has useValue, useFactory.'],
    [{ provide: 42, useValue: 1 }, 'AppModule.providers[0] in AppModule: provide must be a class, a token(), a string or a symbol, got 42.'],
    [{ provide: 'x', useFactory: (): number => 1, scope: 'forever' }, "AppModule.providers[0] (x): scope must be one of singleton, transient, request, got \"forever\"."],
    ['nope', 'AppModule.providers[0] in AppModule is not a provider: expected a class or { provide, useClass | useValue | useFactory }, got "nope".'],
  ])('rejects the invalid provider shape %j', async (provider, message) => {
    @Module({ providers: [provider as never] }) class AppModule {}
    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_INVALID_PROVIDER');
    expect(error.message).toBe(message);
  });

  it('creates nothing when validation fails', async () => {
    let created = 0;
    @injectable() class Early { constructor() { created++; } }
    @Module({ providers: [Early, { provide: 'late', useFactory: () => 1, inject: ['missing'] }] }) class AppModule {}
    await failure(createTestApp(AppModule));
    expect(created).toBe(0);
  });

  it('injects undefined for a missing @optional() dependency', async () => {
    @injectable() class Metrics {}
    @injectable() class Service { constructor(@optional() readonly metrics?: Metrics) {} }
    @Module({ providers: [Service] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(app.get(Service).metrics).toBeUndefined();
    await app.close();
  });
});
