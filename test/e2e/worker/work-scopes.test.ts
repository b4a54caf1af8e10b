/**
 * WorkScopes (samples/orders-worker/src/intake/work-scopes.ts) against a fake App whose createScope()
 * refuses once the app stops, as CONTRACT §11 says. The e2e test shows the outcome on real brokers;
 * this one pins the mechanism: scopes are opened one message ahead, and the reserve serves the
 * messages that arrive after the signal.
 */
import { describe, expect, it } from 'vitest';
import type { App, ShutdownReport, WorkScope } from '../../../src/index.js';
import type { Config } from '../../../samples/orders-worker/src/config.js';
import { WorkScopes } from '../../../samples/orders-worker/src/intake/work-scopes.js';

class FakeApp {
  state: App['state'] = 'ready';
  opened = 0;
  closed = 0;
  createScope(): WorkScope {
    if (this.state !== 'ready') throw Object.assign(new Error(`createScope while ${this.state}`), { code: 'QUIESCE_STOPPING' });
    this.opened++;
    const report: ShutdownReport = { reason: 'scope-close', ok: true, durationMs: 0, steps: [] };
    let done = false;
    const close = (): Promise<ShutdownReport> => {
      if (!done) this.closed++;
      done = true;
      return Promise.resolve(report);
    };
    return { get: () => undefined as never, getAsync: () => Promise.resolve(undefined as never), close, [Symbol.asyncDispose]: () => close().then(() => undefined) };
  }
}

const config = { amqpUrl: 'amqp://x', amqpPrefetch: 3, natsUrl: 'nats://x', natsBatch: 2 } as Config;
const ctx = { signal: new AbortController().signal, deadline: Date.now() + 1_000, reason: 'SIGTERM' };

function attached(): { scopes: WorkScopes; app: FakeApp } {
  const app = new FakeApp();
  const scopes = new WorkScopes(config);
  scopes.attach(app as unknown as App);
  return { scopes, app };
}

describe('WorkScopes: one scope per message, even for messages that arrive after SIGTERM', () => {
  it('keeps one open scope per message the brokers may still send (prefetch + pull size)', async () => {
    const { scopes, app } = attached();
    expect(scopes.capacity).toBe(5);
    expect(app.opened).toBe(5);
    await scopes.open();
    expect(app.opened).toBe(6); // topped up at once, while the app is ready
  });

  it('serves messages from the reserve once the app stops, opening no new scope', async () => {
    // Root cause this guards: app.createScope() throws QUIESCE_STOPPING from the first signal on, yet
    // RabbitMQ and an outstanding JetStream pull still deliver; refusing those requeues them.
    const { scopes, app } = attached();
    app.state = 'stopping';
    expect(scopes.stopping).toBe(true);
    const late = await Promise.all(Array.from({ length: 5 }, () => scopes.open()));
    expect(new Set(late).size).toBe(5);
    expect(app.opened).toBe(5);
    await expect(scopes.open()).rejects.toThrow(/createScope while stopping/); // the bound is real
  });

  it('closes the unused reserve in its @onStop', async () => {
    const { scopes, app } = attached();
    await scopes.open();
    app.state = 'stopping';
    await scopes.release(ctx);
    expect(app.closed).toBe(5);
  });

  it('lets a message that arrives during startup wait for the App, and releases it if startup fails', async () => {
    const early = new WorkScopes(config);
    const waiting = early.open();
    const app = new FakeApp();
    early.attach(app as unknown as App);
    await expect(waiting).resolves.toBeDefined();

    const failed = new WorkScopes(config);
    const stranded = failed.open();
    failed.abandon('startup-rollback');
    await expect(stranded).rejects.toThrow(/did not start \(startup-rollback\)/);
  });
});
