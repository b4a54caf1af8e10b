import 'reflect-metadata';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTestApp, Module, QuiesceError, type Provider } from '../../src/index.js';

/** A random DAG over n nodes: node i may depend only on nodes j < i, so it is acyclic by construction. */
const dagArbitrary = fc
  .integer({ min: 1, max: 14 })
  .chain((n) =>
    fc.tuple(
      fc.constant(n),
      fc.array(fc.array(fc.boolean(), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
    ),
  )
  .map(([n, matrix]) => Array.from({ length: n }, (_, i) => Array.from({ length: i }, (_, j) => j).filter((j) => matrix[i]![j])));

function moduleFor(deps: number[][], created: string[]): new () => unknown {
  const providers: Provider[] = deps.map((ds, i) => ({
    provide: `N${i}`,
    useFactory: () => {
      created.push(`N${i}`);
      return { i };
    },
    inject: ds.map((j) => `N${j}`),
  }));
  @Module({ providers }) class RandomModule {}
  return RandomModule;
}

describe('dependency graph on random DAGs', () => {
  it('has exactly the declared edges and creates every node after its dependencies', async () => {
    await fc.assert(
      fc.asyncProperty(dagArbitrary, async (deps) => {
        const created: string[] = [];
        const app = await createTestApp(moduleFor(deps, created));
        const graph = app.graph();
        const expected = deps.flatMap((ds, i) => ds.map((j) => `N${i}->N${j}`)).sort();
        expect(graph.edges.map((e) => `${e.from}->${e.to}`).sort()).toEqual(expected);
        expect(created.length).toBe(deps.length);
        for (const [i, ds] of deps.entries()) {
          for (const j of ds) expect(created.indexOf(`N${j}`)).toBeLessThan(created.indexOf(`N${i}`));
        }
        await app.close();
      }),
      { numRuns: 60 },
    );
  });

  it('reports an injected cycle with a path that is a real cycle of the graph', async () => {
    await fc.assert(
      fc.asyncProperty(
        dagArbitrary.filter((d) => d.length >= 2),
        fc.nat(),
        fc.nat(),
        async (deps, a, b) => {
          // add a back edge from low -> high, closing a cycle only if high already reaches low
          const low = a % deps.length;
          const high = low + 1 + (b % (deps.length - low - 1 || 1));
          if (high >= deps.length) return;
          const withBack = deps.map((ds) => [...ds]);
          withBack[low]!.push(high);
          const reaches = (from: number, to: number): boolean => from === to || withBack[from]!.some((j) => j < from && reaches(j, to));
          const created: string[] = [];
          const attempt = createTestApp(moduleFor(withBack, created));
          if (!reaches(high, low)) {
            await (await attempt).close();
            return;
          }
          const error = (await attempt.catch((e: unknown) => e)) as QuiesceError & { path: string[] };
          expect(error.code).toBe('QUIESCE_CYCLE');
          expect(created).toEqual([]);
          const path = error.path;
          expect(path[0]).toBe(path[path.length - 1]);
          for (let k = 0; k + 1 < path.length; k++) {
            const from = Number(path[k]!.slice(1));
            const to = Number(path[k + 1]!.slice(1));
            expect(withBack[from]).toContain(to);
          }
          expect(error.message.split('\n')[0]).toBe(`Dependency cycle: ${path.join(' -> ')}`);
        },
      ),
      { numRuns: 80 },
    );
  });
});
