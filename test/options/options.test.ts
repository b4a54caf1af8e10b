import 'reflect-metadata';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { bootstrap, createTestApp, HttpModule, injectable, InvalidOptionsError, Module, onDestroy, onInit, QuiesceError, type App } from '../../src/index.js';
import { validateBootstrapOptions, validateHookTimeout, validateHttpOptions } from '../../src/options/index.js';


/** The rejection of a bootstrap that must fail; an app that starts by mistake is closed, so a failing test leaks nothing. */
async function rejection(promise: Promise<App>): Promise<unknown> {
  return promise.then(
    async (app) => {
      await app.close('unexpected start');
      return undefined;
    },
    (error: unknown) => error,
  );
}

/** A module whose one singleton records whether anything was created. */
function trackedModule(imports: unknown[] = []): { AppModule: new () => object; created: string[] } {
  const created: string[] = [];
  @injectable() class Db {
    constructor() {
      created.push('Db');
    }
  }
  @Module({ imports: imports as never[], providers: [Db] }) class AppModule {}
  return { AppModule, created };
}

function expectInvalidOption(error: unknown, option: string, shown: string): void {
  expect(error).toBeInstanceOf(InvalidOptionsError);
  expect((error as QuiesceError).code).toBe('QUIESCE_INVALID_OPTIONS');
  expect((error as Error).message).toContain(option);
  expect((error as Error).message).toContain(`got ${shown}`);
}

describe('bootstrap options are validated before anything is created (CONTRACT §13)', () => {
  // Root cause: bootstrap checked only the two timeouts (as QUIESCE_INVALID_PROVIDER), and signal names not at
  // all: ['SIGFOO'] was silently accepted, ['SIGKILL'] threw a raw EINVAL from process.on() after every singleton
  // had been created, a string threw a TypeError, a wrong logger type failed inside pino.
  it.each([
    ['shutdownTimeout', -5, '-5'],
    ['shutdownTimeout', 0, '0'],
    ['shutdownTimeout', Number.NaN, 'NaN'],
    ['shutdownTimeout', '10s', '"10s"'],
    ['startupTimeout', -Infinity, '-Infinity'],
    ['signals', ['SIGFOO'], '"SIGFOO"'],
    ['signals', ['SIGTERM', 'SIGKILL'], '"SIGKILL"'],
    ['signals', ['SIGSTOP'], '"SIGSTOP"'],
    ['signals', 'SIGTERM', '"SIGTERM"'],
    ['signals', true, 'true'],
    ['signals', [15], '15'],
    ['exit', 'yes', '"yes"'],
    ['logger', 'info', '"info"'],
    ['logger', 42, '42'],
    ['disposeConcurrency', 'parallel', '"parallel"'],
  ])('rejects bootstrap option %s = %o with QUIESCE_INVALID_OPTIONS naming option and value, creating nothing', async (option, value, shown) => {
    const { AppModule, created } = trackedModule();
    const before = process.listenerCount('SIGTERM');
    const error = await rejection(bootstrap(AppModule, { logger: false, [option]: value }));
    expectInvalidOption(error, option, shown);
    expect(created).toEqual([]);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  // Root cause: unknown keys were dropped without a word, so a misspelt timeout left the default deadline.
  it('rejects an unknown bootstrap option, suggesting the one meant, creating nothing', async () => {
    const { AppModule, created } = trackedModule();
    const error = await rejection(bootstrap(AppModule, { logger: false, shutdownTimout: 60_000 } as never));
    expectInvalidOption(error, "bootstrap option 'shutdownTimout'", '60000');
    expect((error as Error).message).toContain("did you mean 'shutdownTimeout'?");
    expect(created).toEqual([]);
    const unrelated = await rejection(bootstrap(AppModule, { logger: false, colour: 'blue' } as never));
    expect((unrelated as Error).message).not.toContain('did you mean');
    expect((unrelated as Error).message).toContain('known: shutdownTimeout, startupTimeout, signals, exit, logger, disposeConcurrency');
  });

  it('rejects an unknown HttpModule option, suggesting the one meant', async () => {
    const { AppModule, created } = trackedModule([HttpModule.forRoot({ port: 0, drainDelai: 500 } as never)]);
    const error = await rejection(bootstrap(AppModule, { logger: false, signals: false }));
    expectInvalidOption(error, "HttpModule.forRoot option 'drainDelai'", '500');
    expect((error as Error).message).toContain("did you mean 'drainDelay'?");
    expect(created).toEqual([]);
  });

  it('rejects options that are not an object', async () => {
    const { AppModule } = trackedModule();
    expectInvalidOption(await rejection(bootstrap(AppModule, 'prod' as never)), 'bootstrap options', '"prod"');
  });

  it('names why a signal is refused: unknown to the platform, or one a process cannot catch', () => {
    expect(() => validateBootstrapOptions({ signals: ['SIGTERM', 'SIGFOO'] })).toThrow(
      'Invalid bootstrap option signals[1]: got "SIGFOO", expected a signal name this platform knows',
    );
    expect(() => validateBootstrapOptions({ signals: ['SIGKILL'] })).toThrow(
      'Invalid bootstrap option signals[0]: got "SIGKILL", expected a signal a process can catch (SIGKILL and SIGSTOP cannot be caught).',
    );
  });

  it('accepts Infinity for timeouts (no limit), signals false or [], and a pino logger', async () => {
    const { AppModule, created } = trackedModule();
    const app = await bootstrap(AppModule, { shutdownTimeout: Infinity, startupTimeout: Infinity, signals: [], logger: pino({ level: 'silent' }) });
    expect(created).toEqual(['Db']);
    expect((await app.close()).ok).toBe(true);
    expect(() => validateBootstrapOptions({ signals: false, logger: { level: 'warn' }, exit: false, disposeConcurrency: 'sequential' })).not.toThrow();
    expect(() => validateBootstrapOptions({ signals: ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'] })).not.toThrow();
  });
});

describe('HttpModule options are validated by bootstrap before anything is created (CONTRACT §13)', () => {
  // Root cause: HttpServer checked port and the drain numbers in its constructor, which runs only once every
  // singleton has been created and initialized (drainTimeout: -5 failed after the whole startup), as
  // QUIESCE_INVALID_PROVIDER; host, paths, fastify, listen and the new setup/healthPort were not checked at all.
  it.each([
    ['port', -1, '-1'],
    ['port', 65536, '65536'],
    ['port', 80.5, '80.5'],
    ['port', '3000', '"3000"'],
    ['healthPort', -1, '-1'],
    ['healthPort', 3000, '3000'], // the default main port
    ['host', 127, '127'],
    ['host', '', '""'],
    ['fastify', 'yes', '"yes"'],
    ['fastify', null, 'null'],
    ['drainDelay', -1, '-1'],
    ['drainDelay', Infinity, 'Infinity'],
    ['drainTimeout', -5, '-5'],
    ['drainTimeout', Number.NaN, 'NaN'],
    ['readinessPath', 'readyz', '"readyz"'],
    ['livenessPath', '/readyz', '"/readyz"'], // the same path as readiness
    ['setup', 'plugins', '"plugins"'],
    ['listen', 'no', '"no"'],
  ])('rejects HttpModule option %s = %o with QUIESCE_INVALID_OPTIONS before any singleton is created', async (option, value, shown) => {
    const { AppModule, created } = trackedModule([HttpModule.forRoot({ [option]: value })]);
    const error = await rejection(createTestApp(AppModule));
    expectInvalidOption(error, `HttpModule.forRoot option ${option}`, shown);
    expect(created).toEqual([]);
  });

  it('rejects a drainDelay that does not fit in shutdownTimeout', async () => {
    // Root cause: drainDelay was never compared with shutdownTimeout; a delay that used up the whole deadline
    // made every shutdown report not ok, and the destroy phase (Db) never ran.
    const { AppModule, created } = trackedModule([HttpModule.forRoot({ drainDelay: 5_000 })]);
    const error = await rejection(createTestApp(AppModule, { shutdownTimeout: 5_000 }));
    expectInvalidOption(error, 'HttpModule.forRoot option drainDelay', '5000');
    expect((error as Error).message).toContain('less than shutdownTimeout (5000 ms)');
    expect(created).toEqual([]);
    expect(() => validateHttpOptions({ drainDelay: 4_999 }, { shutdownTimeout: 5_000 })).not.toThrow();
    expect(() => validateHttpOptions({ drainDelay: 60_000 }, { shutdownTimeout: Infinity })).not.toThrow();
  });

  it('accepts valid HTTP options, Infinity as drainTimeout, and a healthPort of 0 or other than the port', async () => {
    const { AppModule, created } = trackedModule([HttpModule.forRoot({ port: 0, drainTimeout: Infinity, drainDelay: 0, host: 'localhost', fastify: {} })]);
    const app = await createTestApp(AppModule);
    expect(created).toEqual(['Db']);
    expect((await app.close()).ok).toBe(true);
    const good = { port: 8080, healthPort: 9000, setup: () => {}, listen: false, readinessPath: '/ready', livenessPath: '/live' };
    expect(() => validateHttpOptions(good, { shutdownTimeout: 10_000 })).not.toThrow();
    expect(() => validateHttpOptions({ port: 0, healthPort: 0 }, { shutdownTimeout: 10_000 })).not.toThrow();
    expect(() => validateHttpOptions({ drainTimeout: Infinity }, { shutdownTimeout: Infinity })).not.toThrow();
    expect(() => validateHttpOptions({ port: 9000, healthPort: 9000 }, { shutdownTimeout: 10_000 })).toThrow(InvalidOptionsError);
  });
});

describe('hook options are validated where the decorator is applied (CONTRACT §13)', () => {
  // Root cause: the hook decorators threw a plain RangeError (no QuiesceError code), and accepted
  // @onInit(5000), a number where the options object belongs, as "no timeout" without a word.
  it.each([
    ['onInit', { timeout: -1 }, '-1'],
    ['onInit', { timeout: 0 }, '0'],
    ['onDestroy', { timeout: Number.NaN }, 'NaN'],
    ['onDestroy', { timeout: '5s' }, '"5s"'],
    ['onInit', 5_000, '5000'],
  ])('rejects @%s(%o) with QUIESCE_INVALID_OPTIONS naming the decorator and the value', (name, options, shown) => {
    const decorator = name === 'onInit' ? onInit : onDestroy;
    let error: unknown;
    try {
      decorator(options as never);
    } catch (e) {
      error = e;
    }
    expectInvalidOption(error, `@${name}()`, shown);
  });

  it('accepts Infinity as a hook timeout (no limit)', () => {
    expect(() => onInit({ timeout: Infinity })).not.toThrow();
    expect(() => validateHookTimeout('onStop', Infinity)).not.toThrow();
    expect(() => validateHookTimeout('onStop', -1)).toThrow('Invalid @onStop() option timeout: got -1, expected a number of ms > 0 (Infinity: no limit).');
  });
});
