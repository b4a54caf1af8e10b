/**
 * The phases composed from the container and a list of participants (src/app/phases.ts), driven
 * directly with a fake participant and fake open scopes: what waits for what, and when.
 */
import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Phases, type Participant } from '../../src/app/phases.js';
import type { ScopesToWaitFor } from '../../src/app/phases.js';
import { Container } from '../../src/container/container.js';
import { buildGraph } from '../../src/container/graph.js';
import { loadModules } from '../../src/container/modules.js';
import { injectable, Module, onDestroy, onStart, onStop, type HookContext } from '../../src/index.js';
import { HookTimeoutError } from '../../src/errors.js';
import { Deadline } from '../../src/lifecycle/deadline.js';
import { createLogger } from '../../src/logger.js';
import { deferred, sleep } from '../support/async.js';

let t0: number;
let events: [string, number][];
const mark = (name: string) => events.push([name, Date.now() - t0]);
const at = (name: string) => {
  const found = events.find(([n]) => n === name);
  if (!found) throw new Error(`no event ${name} in ${JSON.stringify(events)}`);
  return found[1];
};

@injectable() class Db {
  @onStart() async start() { await sleep(10); mark('Db.start'); }
  @onStop() async stop() { mark('Db.stop'); }
  @onDestroy() close() { mark('Db.destroy'); }
}
@injectable() class Users { constructor(readonly db: Db) {} @onStop() async stop() { await sleep(5); mark('Users.stop'); } }
@injectable() class Consumer {
  constructor(readonly db: Db) {}
  @onStart() async start() { await sleep(30); mark('Consumer.start'); }
  @onStop() async stop() { await sleep(20); mark('Consumer.stop'); }
}
@Module({ providers: [Db, Users, Consumer] }) class AppModule {}

function setup(participantUses: string[], participantStop: (ctx: HookContext) => Promise<void> = () => sleep(100)) {
  const graph = buildGraph(loadModules(AppModule));
  const logger = createLogger(false);
  const container = new Container(graph, logger, 10_000);
  const participant: Participant = {
    id: 'web',
    name: 'web',
    kind: 'http',
    uses: graph.nodes.filter((node) => participantUses.includes(node.name)),
    async start() { mark('web.start'); },
    async stop(ctx) { mark('web.stop:begin'); await participantStop(ctx); mark('web.stop:end'); },
    async close() { mark('web.close'); },
  };
  const phases = new Phases(container, [participant], { disposeConcurrency: 'graph', logger });
  const host = { app: undefined as never, isReady: () => false };
  const run = { deadline: new Deadline(30_000), signal: new AbortController().signal, abortGraceMs: 5_000 };
  return { phases, host, run };
}

function fakeScopes(open: number) {
  const empty = deferred();
  const scopes = {
    size: open,
    whenEmpty: () => empty.promise,
    // like OpenScopes.closeAll: closes what is left, then says so with a HookTimeoutError
    closeAll: vi.fn(async () => {
      mark('scopes.closeAll');
      scopes.size = 0;
      throw new HookTimeoutError(`${open} scopes still open (shutdown closed them)`, 0);
    }),
    closeAllNow() { scopes.size = 0; mark('scopes.empty'); empty.resolve(); },
  };
  return scopes satisfies ScopesToWaitFor;
}

beforeEach(() => {
  vi.useFakeTimers();
  t0 = Date.now();
  events = [];
});
afterEach(() => {
  vi.useRealTimers();
});

describe('participants', () => {
  it('start after every @onStart, and stop before the stop hooks of what they use, concurrently with what they do not use', async () => {
    const { phases, host, run } = setup(['Users']);
    const started = phases.init(run).then(() => phases.start(run, host));
    await vi.advanceTimersByTimeAsync(40);
    await started;
    expect(at('web.start')).toBeGreaterThanOrEqual(at('Consumer.start'));
    expect(at('Consumer.start')).toBe(40); // after Db.start (10) + its own 30

    t0 = Date.now();
    const closing = phases.shutdown('test', new Deadline(10_000), undefined);
    await vi.advanceTimersByTimeAsync(200);
    const report = await closing;
    expect(report.ok).toBe(true);
    // Consumer is used by no participant: it stops at once, while the participant still stops
    expect(at('Consumer.stop')).toBe(20);
    expect(at('web.stop:end')).toBe(100);
    // Users is used by the participant: after it; Db after both of its dependents
    expect(at('Users.stop')).toBe(105);
    expect(at('Db.stop')).toBe(105);
    expect(at('Db.destroy')).toBeGreaterThanOrEqual(at('Db.stop'));
    expect(at('web.close')).toBeGreaterThanOrEqual(at('Db.destroy'));
    expect(report.steps.map((s) => [s.id, s.kind, s.startMs, s.endMs])).toEqual([
      ['web', 'http', 0, 100],
      ['Consumer', 'stop', 0, 20],
      ['Users', 'stop', 100, 105],
      ['Db', 'stop', 105, 105],
      ['Db', 'destroy', 105, 105],
    ]);
  });

  it('a participant that never started is not stopped, and what started is stopped in rollback', async () => {
    const { phases, host, run } = setup(['Users']);
    await phases.init(run);
    const controller = new AbortController();
    const starting = phases.start({ ...run, signal: controller.signal }, host).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(15); // Db started, Consumer still starting
    controller.abort('SIGTERM');
    await vi.advanceTimersByTimeAsync(30); // the running start is waited for (it completes)
    expect(await starting).toMatchObject({ kind: 'aborted' });
    const closing = phases.shutdown('startup-rollback', new Deadline(10_000), undefined);
    await vi.advanceTimersByTimeAsync(100);
    const report = await closing;
    // Users has only @onStop: it counts as started once Db started, so it is stopped too; web never started
    expect(events.map(([name]) => name)).toEqual(['Db.start', 'Consumer.start', 'Users.stop', 'Consumer.stop', 'Db.stop', 'Db.destroy', 'web.close']);
    expect(report.steps.map((s) => [s.id, s.kind])).toEqual([
      ['Consumer', 'stop'],
      ['Users', 'stop'],
      ['Db', 'stop'],
      ['Db', 'destroy'],
    ]);
  });
});

describe('open unit-of-work scopes', () => {
  it('are waited for in the stop phase: no destroy step starts before the last scope closed', async () => {
    const { phases, host, run } = setup([], () => sleep(10));
    const started = phases.init(run).then(() => phases.start(run, host));
    await vi.advanceTimersByTimeAsync(40);
    await started;
    const scopes = fakeScopes(3);
    t0 = Date.now();
    const closing = phases.shutdown('test', new Deadline(10_000), scopes);
    await vi.advanceTimersByTimeAsync(500);
    expect(events.map(([name]) => name)).not.toContain('Db.destroy');
    scopes.closeAllNow();
    await vi.advanceTimersByTimeAsync(10);
    const report = await closing;
    expect(at('Db.destroy')).toBeGreaterThanOrEqual(at('scopes.empty'));
    expect(report.steps[0]).toMatchObject({ id: 'scopes', kind: 'stop', status: 'ok', startMs: 0, endMs: 500 });
    expect(scopes.closeAll).not.toHaveBeenCalled();
  });

  it('closes the scopes still open at 3/4 of the time left, reports the step timeout, and leaves the destroy phase time', async () => {
    const { phases, host, run } = setup([], () => sleep(10));
    const started = phases.init(run).then(() => phases.start(run, host));
    await vi.advanceTimersByTimeAsync(40);
    await started;
    const scopes = fakeScopes(2);
    t0 = Date.now();
    const closing = phases.shutdown('test', new Deadline(1_000), scopes);
    await vi.advanceTimersByTimeAsync(749);
    expect(scopes.closeAll).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    const report = await closing;
    expect(scopes.closeAll).toHaveBeenCalledTimes(1);
    expect(report.ok).toBe(false);
    expect(report.steps.find((s) => s.id === 'scopes')).toMatchObject({
      kind: 'stop',
      status: 'timeout',
      endMs: 750,
      error: expect.stringContaining('2 scopes still open'),
    });
    expect(at('Db.destroy')).toBe(750); // the destroy phase still ran, inside the deadline
  });
});
