/**
 * LOGGER: services inject quiesce's pino logger; each provider that does gets a child bound to its own name.
 */
import 'reflect-metadata';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { bootstrap, createTestApp, inject, injectable, LOGGER, Module } from '../../src/index.js';

function capture(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk.toString()); done(); } });
  const logger = pino({ name: 'app', level: 'info' }, stream);
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('LOGGER', () => {
  it('gives each class that injects it a child of the app logger bound to the class name', async () => {
    @injectable() class UserService { constructor(@inject(LOGGER) readonly log: Logger) {} hello() { this.log.info('hello from users'); } }
    @injectable() class Mailer { constructor(@inject(LOGGER) readonly log: Logger) {} hello() { this.log.info('hello from mail'); } }
    @Module({ providers: [UserService, Mailer] }) class AppModule {}
    const { logger, lines } = capture();
    const app = await bootstrap(AppModule, { logger, signals: false });
    app.get(UserService).hello();
    app.get(Mailer).hello();
    await app.close();
    expect(lines().filter((l) => String(l.msg).startsWith('hello')).map((l) => [l.name, l.context, l.msg])).toEqual([
      ['app', 'UserService', 'hello from users'],
      ['app', 'Mailer', 'hello from mail'],
    ]);
  });

  it('is injectable into factories and properties, named after the provider', async () => {
    const CLIENT = 'Client';
    @injectable() class Worker { @inject(LOGGER) readonly log!: Logger; }
    @Module({
      providers: [Worker, { provide: CLIENT, useFactory: (log: Logger) => ({ log }), inject: [LOGGER] }],
    })
    class AppModule {}
    const { logger } = capture();
    const app = await bootstrap(AppModule, { logger, signals: false });
    expect(app.get(Worker).log.bindings()).toMatchObject({ context: 'Worker' });
    expect(app.get<{ log: Logger }>(CLIENT).log.bindings()).toMatchObject({ context: 'Client' });
    await app.close();
  });

  it('is silent under createTestApp unless a logger is given', async () => {
    @injectable() class Svc { constructor(@inject(LOGGER) readonly log: Logger) {} }
    @Module({ providers: [Svc] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(app.get(Svc).log.level).toBe('silent');
    await app.close();
  });

  it('adds nothing to the graph of an app that does not use it', async () => {
    @injectable() class Svc {}
    @Module({ providers: [Svc] }) class AppModule {}
    const app = await createTestApp(AppModule);
    expect(app.graph().nodes.map((n) => n.name)).toEqual(['Svc']);
    await app.close();
  });
});
