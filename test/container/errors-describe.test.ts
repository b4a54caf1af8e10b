import 'reflect-metadata';
import { describe as suite, expect, it } from 'vitest';
import { createTestApp, injectable, Module, onDestroy, onInit, QuiesceError } from '../../src/index.js';
import { describe, showValue } from '../../src/errors.js';

/** Values that String() cannot convert, or that throw on any inspection. */
function hostileValues(): [string, unknown][] {
  const throwingToString = { toString: () => { throw new Error('toString exploded'); } };
  const trapAll = new Proxy({}, new Proxy({}, { get: () => () => { throw new Error('trap'); } }));
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const badMessage = new Error('x');
  Object.defineProperty(badMessage, 'message', { get: () => { throw new Error('getter'); } });
  return [
    ['Object.create(null)', Object.create(null)],
    ['an object whose toString throws', throwingToString],
    ['a Proxy that throws on every trap', trapAll],
    ['a revoked Proxy', revoked],
    ['a symbol', Symbol('boom')],
    ['an Error whose message getter throws', badMessage],
    ['a BigInt', 10n],
    ['undefined', undefined],
  ];
}

suite('describe(error) never throws, whatever was thrown', () => {
  // Root cause: describe() was `error instanceof Error ? error.message : String(error)`. String() throws for an
  // object without prototype or with a throwing toString (and every step of it throws for a hostile Proxy);
  // thrown inside a scheduler's catch, that left a destroy step unfinished and bootstrap pending forever.
  it.each(hostileValues())('describes %s as a non-empty line without throwing', (_label, value) => {
    let line: unknown;
    expect(() => (line = describe(value))).not.toThrow();
    expect(typeof line).toBe('string');
    expect((line as string).length).toBeGreaterThan(0);
    expect(() => showValue(value)).not.toThrow();
  });

  it('keeps the useful text where there is one', () => {
    expect(describe(new Error('db down'))).toBe('db down');
    expect(describe('plain string')).toBe('plain string');
    expect(describe(Symbol('boom'))).toBe('Symbol(boom)');
    expect(describe(Object.assign(Object.create(null) as object, { code: 'E_POOL' }))).toBe('{"code":"E_POOL"}');
  });

  it('rejects bootstrap with QUIESCE_INIT_FAILED when an init hook throws an object without prototype', async () => {
    // Root cause: InitFailedError's message called describe(cause), which threw a TypeError for this value
    // inside the startup scheduler: bootstrap never settled, not even at startupTimeout.
    @injectable() class Db {
      @onInit() start() {
        throw Object.create(null);
      }
    }
    @Module({ providers: [Db] }) class AppModule {}
    const error = await createTestApp(AppModule, { startupTimeout: 2_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(QuiesceError);
    expect((error as QuiesceError).code).toBe('QUIESCE_INIT_FAILED');
    expect((error as Error).message).toMatch(/^Startup failed in Db\b.*: an object$/);
  }, 5_000);

  it('reports a destroy step that throws a value String() cannot convert as failed, and close() resolves', async () => {
    // Root cause: the shutdown scheduler described the error with describe(), which threw: the step never
    // ended and close() waited for the global deadline.
    @injectable() class Db {
      @onDestroy() stop() {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point: user code throws a non-Error
        throw { toString: () => { throw new Error('no'); } };
      }
    }
    @Module({ providers: [Db] }) class AppModule {}
    const app = await createTestApp(AppModule, { shutdownTimeout: 60_000 });
    const report = await app.close('test');
    expect(report.steps.map((s) => [s.id, s.status])).toEqual([['Db', 'failed']]);
    expect(report.durationMs).toBeLessThan(30_000);
  }, 5_000);
});
