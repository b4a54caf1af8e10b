/** Helpers for the HTTP unit tests: an HttpServer without an app around it, and hook contexts. */
import { pino, type Logger } from 'pino';
import { HttpServer, type HttpModuleOptions } from '../../src/http/server.js';
import type { App, DestroyContext as HookContext } from '../../src/types.js';

export const silent = pino({ level: 'silent' });

/** A HookContext whose deadline is `ms` from now. */
export function context(ms: number, signal: AbortSignal = new AbortController().signal): HookContext {
  return { signal, deadline: Date.now() + ms, reason: 'test' };
}

/** An App façade for setup(fastify, app): get/getAsync over a map of values. */
export function fakeApp(values: ReadonlyMap<unknown, unknown> = new Map()): App {
  const get = <T>(token: unknown): T => {
    if (!values.has(token)) throw new Error(`fakeApp: no value for ${String(token)}`);
    return values.get(token) as T;
  };
  return {
    get,
    getAsync: <T>(token: unknown) => Promise.resolve(get<T>(token)),
    state: 'ready',
    graph: () => {
      throw new Error('fakeApp: no graph');
    },
    createScope: () => {
      throw new Error('fakeApp: no scopes');
    },
    close: () => Promise.reject(new Error('fakeApp: close')),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

export interface ServerSettings {
  isReady?: () => boolean;
  logger?: Logger;
  app?: App;
}

export function httpServer(options: HttpModuleOptions = {}, settings: ServerSettings = {}): HttpServer {
  return new HttpServer({
    options,
    logger: settings.logger ?? silent,
    isReady: settings.isReady ?? (() => true),
    app: settings.app ?? fakeApp(),
  });
}
