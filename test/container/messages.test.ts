/**
 * Messages that used to mislead (issue 14), pinned word for word. Each test names the situation a user is
 * in; the comment says what the old text got wrong.
 */
import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { bootstrap, Controller, createTestApp, Get, HttpModule, inject, injectable, Module, QuiesceError, token } from '../../src/index.js';

const quiet = { logger: false, signals: false } as const;

async function failure(promise: Promise<unknown>): Promise<QuiesceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QuiesceError);
  return error as QuiesceError;
}

describe('messages say what is wrong', () => {
  it('says an interface-typed parameter is one quiesce cannot inject', async () => {
    // root cause: the text read "has type Object that quiesce can inject", the opposite of its meaning
    interface Config { url: string }
    @injectable() class Client { constructor(readonly config: Config) {} }
    @Module({ providers: [Client] }) class AppModule {}
    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_UNRESOLVABLE_PARAMETER');
    expect(error.message).toContain('parameter #0 of Client has type Object, which quiesce cannot inject:');
  });

  it('says a parameter recorded as Function looks like a class imported as a type', async () => {
    // root cause: `import type { Db }` makes TypeScript record Function, and the message listed interfaces and unions
    @injectable() class Repo { constructor(readonly db: unknown) {} }
    Reflect.defineMetadata('design:paramtypes', [Function], Repo); // what tsc records for a type-only class import
    @Module({ providers: [Repo] }) class AppModule {}
    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_UNRESOLVABLE_PARAMETER');
    expect(error.message).toBe(
      'parameter #0 of Repo has type Function: it looks like a class imported as a type (`import type { X }` or `import { type X }`), ' +
        "which TypeScript records as Function. Import the class as a value in Repo's file. " +
        'If the parameter really is a function, inject it by token: @inject(MY_TOKEN) with { provide: MY_TOKEN, useValue: fn } in a module.',
    );
  });

  it('says the runner emitted no decorator metadata when a decorated class has none (tsx, esbuild)', async () => {
    // root cause: under tsx the message said "turn on emitDecoratorMetadata" although tsconfig had it on,
    // and "add @injectable()" to a @Controller; esbuild-based runners never emit design:paramtypes
    class Db {}
    @injectable() class Users { constructor(readonly db: Db) {} }
    Reflect.deleteMetadata('design:paramtypes', Users); // what a class compiled by esbuild looks like
    @Module({ providers: [Db, Users] }) class AppModule {}
    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.code).toBe('QUIESCE_UNRESOLVABLE_PARAMETER');
    expect(error.message).toBe(
      'parameter #0 of Users cannot be injected by type: Users has no decorator metadata at all (no design:paramtypes), so the tool that ' +
        'compiled its file did not emit it. tsx, esbuild and Vite never emit decorator metadata, even with emitDecoratorMetadata on: ' +
        'compile with tsc (or run tests with vitest), or give every parameter an @inject(token). ' +
        `With tsc: turn on "emitDecoratorMetadata" and "experimentalDecorators", and check that tsconfig's include covers Users's file.`,
    );
  });

  it('does not tell a @Controller without metadata to add @injectable()', async () => {
    // root cause: @Controller applies injectable() and clears inversify's flag; without design:paramtypes there
    // was no class metadata left either, so the controller looked undecorated
    class Db {}
    @Controller('/x') class XController { constructor(readonly db: Db) {} @Get('/') get() { return 1; } }
    Reflect.deleteMetadata('design:paramtypes', XController);
    Reflect.deleteMetadata('@inversifyjs/core/classMetadataReflectKey', XController);
    @Module({ imports: [HttpModule.forRoot()], providers: [Db], controllers: [XController] }) class AppModule {}
    const error = await failure(createTestApp(AppModule));
    expect(error.message).not.toContain('@injectable()');
    expect(error.message).toContain('XController has no decorator metadata at all');
  });

  it('rejects a @Controller listed under providers, where it would get no routes', async () => {
    // root cause: it was created as a plain provider, silently serving nothing
    @Controller('/users') class UserController { @Get('/') list() { return []; } }
    @Module({ imports: [HttpModule.forRoot()], providers: [UserController] }) class AppModule {}
    const error = await failure(createTestApp(AppModule));
    expect(error.code).toBe('QUIESCE_INVALID_PROVIDER');
    expect(error.message).toBe(
      'AppModule.providers[0] in AppModule is UserController, a @Controller: listed under providers it would get no routes. ' +
        "Move it to AppModule's controllers (a controller is a provider too, so list it there only).",
    );
  });

  it('names both lists when a controller is listed under providers and under controllers of different modules', async () => {
    // root cause: the duplicate error said "Two providers for X" and never mentioned controllers
    @Controller('/users') class UserController { @Get('/') list() { return []; } }
    @Module({ providers: [{ provide: UserController, useClass: UserController }] }) class OtherModule {}
    @Module({ imports: [HttpModule.forRoot(), OtherModule], controllers: [UserController] }) class AppModule {}
    const error = await failure(createTestApp(AppModule));
    expect(error.code).toBe('QUIESCE_DUPLICATE_PROVIDER');
    expect(error.message).toBe(
      'Two providers for UserController: one in OtherModule (AppModule -> OtherModule) and one in AppModule (controllers). ' +
        'Keep one; to replace a provider in tests, use createTestApp(..., { overrides }).',
    );
  });

  it('rejects controllers when no module imports HttpModule, which would start no server', async () => {
    // root cause: the app bootstrapped without a server and without a word
    @Controller('/users') class UserController { @Get('/') list() { return []; } }
    @Module({ controllers: [UserController] }) class AppModule {}
    const error = await failure(createTestApp(AppModule));
    expect(error.code).toBe('QUIESCE_INVALID_PROVIDER');
    expect(error.message).toBe(
      'AppModule declares controllers (UserController) but no module imports HttpModule.forRoot(...), so nothing would serve them. ' +
        'Import HttpModule.forRoot({ port }) in the root module.',
    );
  });

  it('says "1 dependency", not "1 dependencies"', async () => {
    @injectable() class Db {}
    @injectable() class BaseRepo { constructor(readonly db: Db) {} }
    @injectable() class UserRepo extends BaseRepo {}
    @Module({ providers: [Db, UserRepo] }) class AppModule {}
    const error = await failure(bootstrap(AppModule, quiet));
    expect(error.message).toContain('whose constructor takes 1 dependency, but UserRepo declares none');
  });

  it('says what bootstrap() was given when the root is not a module', async () => {
    // root cause: the text read "bootstrap() is Plain, which is not a module"
    class Plain {}
    const error = await failure(bootstrap(Plain, quiet));
    expect(error.code).toBe('QUIESCE_INVALID_PROVIDER');
    expect(error.message).toBe(
      'bootstrap() was given Plain, which is not a module. Decorate it with @Module({...}), or list it under providers if it is a service.',
    );
  });

  it('still injects by token where the type is an interface', async () => {
    const CONFIG = token<{ url: string }>('Config');
    @injectable() class Client { constructor(@inject(CONFIG) readonly config: { url: string }) {} }
    @Module({ providers: [Client, { provide: CONFIG, useValue: { url: 'x' } }] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(app.get(Client).config.url).toBe('x');
    await app.close();
  });
});
