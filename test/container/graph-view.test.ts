import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { createTestApp, injectable, Module, onDestroy } from '../../src/index.js';

describe('app.graph()', () => {
  @injectable() class Pool { @onDestroy() end() {} }
  @injectable() class Repo { constructor(readonly pool: Pool) {} }
  @injectable() class Job {}
  @Module({ providers: [Repo, Pool, { provide: Job, useClass: Job, scope: 'transient' }] }) class AppModule {}

  it('lists nodes with scope and disposability, and dependent -> dependency edges', async () => {
    const app = await createTestApp(AppModule);
    const graph = app.graph();
    expect(graph.nodes).toEqual([
      { id: 'Pool', name: 'Pool', scope: 'singleton', disposable: true },
      { id: 'Repo', name: 'Repo', scope: 'singleton', disposable: false },
      { id: 'Job', name: 'Job', scope: 'transient', disposable: false },
    ]);
    expect(graph.edges).toEqual([{ from: 'Repo', to: 'Pool' }]);
    await app.close();
  });

  it('renders Mermaid and DOT', async () => {
    const app = await createTestApp(AppModule);
    expect(app.graph().toMermaid()).toBe(['graph TD', '  n0[["Pool"]]', '  n1["Repo"]', '  n2["Job (transient)"]', '  n1 --> n0'].join('\n'));
    expect(app.graph().toDot()).toBe(
      ['digraph quiesce {', '  rankdir=TB;', '  "Pool" [label="Pool", peripheries=2];', '  "Repo" [label="Repo"];', '  "Job" [label="Job\\n(transient)"];', '  "Repo" -> "Pool";', '}'].join('\n'),
    );
    await app.close();
  });
});
