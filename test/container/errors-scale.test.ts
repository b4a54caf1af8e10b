import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { createTestApp, CycleError, InitFailedError, Module, QuiesceError, token, type Provider } from '../../src/index.js';

const maxMessageBytes = 64 * 1024;

async function failure(providers: Provider[]): Promise<QuiesceError> {
  @Module({ providers }) class AppModule {}
  const error = await createTestApp(AppModule).then(
    async (app) => {
      await app.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(QuiesceError);
  return error as QuiesceError;
}

/** A hub that `dependents` providers depend on, itself depending on a token nobody provides. */
function hubMissingProvider(dependents: number): Provider[] {
  const HUB = token<unknown>('Hub');
  const providers: Provider[] = [{ provide: HUB, useFactory: (pool: unknown) => pool, inject: ['Pool'] }];
  for (let i = 0; i < dependents; i++) providers.push({ provide: `Dependent${i}`, useFactory: (hub: unknown) => hub, inject: [HUB] });
  return providers;
}

/** `length` providers in one loop: S0 -> S1 -> ... -> S{length-1} -> S0. */
function cycle(length: number, name = (i: number) => `S${i}`): Provider[] {
  return Array.from({ length }, (_, i) => ({ provide: name(i), useFactory: (next: unknown) => next, inject: [name((i + 1) % length)] }));
}

/** CPU time (user + system) of this process while `run` runs: unlike wall time, not inflated by other processes' load. */
async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = process.cpuUsage();
  await run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

describe('error construction is linear in the graph and bounded in size', () => {
  it('builds a missing-provider error next to a hub with 20,000 dependents as fast as next to one with 2,000', async () => {
    // Root cause: the chain from the root was found through a dependents map whose lists were copied on every
    // append ([...list, n]): quadratic in the hub's dependents, 4-6 s for 20,000. Both graphs below have the same
    // 20,001 providers, so everything linear costs the same; only a cost that grows with the hub's dependents
    // (the quadratic copy made the first about 5x slower) can tell them apart.
    const pairs = (count: number): Provider[] =>
      Array.from({ length: count }, (_, i) => [
        { provide: `Leaf${i}`, useValue: i },
        { provide: `User${i}`, useFactory: (leaf: unknown) => leaf, inject: [`Leaf${i}`] },
      ]).flat();
    const heavy = hubMissingProvider(20_000);
    const light = [...hubMissingProvider(2_000), ...pairs(9_000)];
    expect(light).toHaveLength(heavy.length);

    await failure(light); // warm up
    const lightMs = await timed(() => failure(light));
    let error: QuiesceError | undefined;
    const heavyMs = await timed(async () => (error = await failure(heavy)));
    expect(error?.code).toBe('QUIESCE_MISSING_PROVIDER');
    expect(error?.message).toContain('No provider for Pool, needed by Hub');
    expect(error?.message).toMatch(/Resolution path: Dependent\d+ -> Hub -> Pool/);
    expect(heavyMs / lightMs).toBeLessThan(3);
  }, 60_000);

  it('prints a 5,000-provider cycle as its whole path once, with the middle of the per-module listing elided, under 64 kB', async () => {
    // Root cause: the cycle message printed the path and then one line per provider (its module), so every name
    // appeared twice and a 5,000-long cycle made a 135 kB message. The listing now keeps its two ends and says
    // how many it left out; the path stays whole (CONTRACT §6).
    const error = (await failure(cycle(5_000))) as CycleError;
    expect(error.code).toBe('QUIESCE_CYCLE');
    expect(error.path).toHaveLength(5_001);
    const names = Array.from({ length: 5_000 }, (_, i) => `S${i}`);
    expect(error.message.startsWith(`Dependency cycle: ${[...names, 'S0'].join(' -> ')}\n`)).toBe(true);
    expect(error.message).toContain('  ... 4980 more providers of the cycle (each listed once in the path above) ...');
    expect(error.message.match(/\bS2500\b/g)).toHaveLength(1); // a middle name: in the path only
    expect(Buffer.byteLength(error.message)).toBeLessThan(maxMessageBytes);
  }, 60_000);

  it('stays under 64 kB however long the cycle and its names are, keeping the whole path on error.path', async () => {
    const long = (i: number) => `${'VeryLongProviderName'.repeat(10)}${i}`;
    const error = (await failure(cycle(5_000, long))) as CycleError;
    expect(error.code).toBe('QUIESCE_CYCLE');
    expect(error.path).toHaveLength(5_001);
    expect(error.path[4_999]).toBe(long(4_999));
    expect(Buffer.byteLength(error.message)).toBeLessThan(maxMessageBytes);
    expect(error.message).toMatch(new RegExp(`^Dependency cycle: ${long(0)} -> ${long(1)} -> .* -> \\.\\.\\. \\(\\d+ more\\) \\.\\.\\. -> .* -> ${long(0)}\\n`));
  }, 60_000);

  it('keeps any error message under 64 kB, even one that quotes a huge user error', () => {
    const huge = new Error(`${'x'.repeat(500_000)}END`);
    const error = new InitFailedError('Db', huge);
    expect(Buffer.byteLength(error.message)).toBeLessThan(maxMessageBytes);
    expect(error.message.startsWith('Startup failed in Db: xxx')).toBe(true);
    expect(error.message.endsWith('xxxEND')).toBe(true);
    expect(error.message).toMatch(/\.\.\. \(\d+ characters left out\) \.\.\./);
    expect(error.cause).toBe(huge);
  });

  it('keeps the message of a short cycle exactly as it was: the path, then each provider and its module', async () => {
    const error = await failure(cycle(3));
    expect(error.message).toBe(
      'Dependency cycle: S0 -> S1 -> S2 -> S0\n' +
        '  S0 in AppModule\n' +
        '  S1 in AppModule\n' +
        '  S2 in AppModule\n' +
        '  Constructor injection cannot build a cycle: move what the providers share into a new provider they all depend on.',
    );
  });
});
