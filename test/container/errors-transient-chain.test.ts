import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { createTestApp, Module, type Provider } from '../../src/index.js';

interface Link {
  depth: number;
  next?: Link;
}

/** A singleton `Root` over `length` transients, each depending on the next: T0 -> T1 -> ... -> T{length-1}. */
function chain(length: number, extra: Partial<Provider> = {}): Provider[] {
  const providers: Provider[] = [{ provide: 'Root', useFactory: (first: Link) => ({ depth: -1, next: first }), inject: ['T0'] }];
  for (let i = 0; i < length; i++) {
    const last = i === length - 1;
    providers.push({
      provide: `T${i}`,
      scope: 'transient',
      useFactory: (next?: Link) => ({ depth: i, next }),
      inject: last ? [] : [`T${i + 1}`],
      ...extra,
    } as Provider);
  }
  return providers;
}

function depthOf(link: Link): number {
  let n = 0;
  for (let l: Link | undefined = link.next; l; l = l.next) n++;
  return n;
}

describe('a deep chain of transients resolves', () => {
  it('resolves a chain of 10,000 transients under a singleton', async () => {
    // Root cause: a transient's dependencies were created by recursion (create -> resolveArgs -> resolve ->
    // create), one set of stack frames per level: past about 1,700 levels the stack overflowed, and startup
    // failed with QUIESCE_INIT_FAILED (RangeError: Maximum call stack size exceeded). Only singleton chains were
    // iterative (each singleton is its own startup task). Past a bounded depth, creation now continues on a
    // fresh stack.
    @Module({ providers: chain(10_000) }) class AppModule {}
    const app = await createTestApp(AppModule);
    const root = app.get<Link>('Root');
    expect(depthOf(root)).toBe(10_000);
    const fresh = await app.getAsync<Link>('T0');
    expect(depthOf(fresh)).toBe(9_999);
    expect(fresh === root.next).toBe(false); // transient: a new chain (compared by identity: printing 10,000 levels would overflow)
    expect((await app.close()).ok).toBe(true);
  }, 30_000);

  it('destroys a chain of 5,000 Disposable transients in order, dependents first', async () => {
    const destroyed: number[] = [];
    @Module({ providers: chain(5_000, { dispose: (link: Link) => void destroyed.push(link.depth) } as Partial<Provider>) }) class AppModule {}
    const app = await createTestApp(AppModule);
    const report = await app.close();
    expect(report.ok).toBe(true);
    expect(destroyed).toHaveLength(5_000);
    expect(destroyed.slice(0, 3)).toEqual([0, 1, 2]);
    expect(destroyed.at(-1)).toBe(4_999);
  }, 30_000);

  it('tells app.get of a transient more than 512 deep to use app.getAsync', async () => {
    @Module({ providers: chain(600) }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(() => app.get('T0')).toThrow(/T0 is created asynchronously \(.*or a chain of transients more than 512 deep\); use app\.getAsync\(\)/);
    expect(depthOf(await app.getAsync<Link>('T0'))).toBe(599);
    await app.close();
  });

  it('still resolves a shallow transient chain synchronously with app.get', async () => {
    @Module({ providers: chain(200) }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(depthOf(app.get<Link>('T0'))).toBe(199);
    await app.close();
  });
});
