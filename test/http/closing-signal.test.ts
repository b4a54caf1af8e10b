/**
 * closingSignal(request): long-lived responses (server-sent events) learn that the server is closing and
 * end cleanly; such a stream counts as finished, not as a drain timeout. A real SSE client (undici fetch).
 */
import 'reflect-metadata';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { PassThrough } from 'node:stream';
import { fetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { closingSignal } from '../../src/http/closing-signal.js';
import { Controller, Get } from '../../src/http/controllers.js';
import type { HttpModuleOptions, HttpServer } from '../../src/http/server.js';
import { context, httpServer } from './support.js';

@Controller()
class EventsController {
  @Get('/events')
  events(request: FastifyRequest, reply: FastifyReply) {
    const closing = closingSignal(request);
    const stream = new PassThrough();
    stream.write('event: hello\ndata: 1\n\n');
    const end = (): void => void stream.end('event: bye\ndata: server closing\n\n');
    if (closing.aborted) end();
    else {
      closing.addEventListener('abort', end, { once: true });
      request.raw.once('close', () => closing.removeEventListener('abort', end));
    }
    return reply.header('content-type', 'text/event-stream').header('cache-control', 'no-cache').send(stream);
  }
}

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((fn) => fn()));
});

async function start(options: HttpModuleOptions = {}): Promise<{ server: HttpServer; url: string }> {
  const server = httpServer({ port: 0, ...options });
  server.addControllers([{ controller: EventsController, instance: new EventsController() }]);
  await server.start(context(10_000));
  cleanup.push(() => server.fastify.close());
  return { server, url: server.url! };
}

/** Reads an SSE response until `marker` appears; returns the text so far and the reader. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, marker: string, text = ''): Promise<string> {
  const decoder = new TextDecoder();
  while (!text.includes(marker)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended before '${marker}': ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

describe('closingSignal and server-sent events', () => {
  it('lets an SSE stream end with a final event when the listener closes; the step is ok, not a timeout', async () => {
    const { server, url } = await start({ drainTimeout: 5_000 });
    const response = await fetch(`${url}/events`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const first = await readUntil(reader, 'data: 1\n\n');

    const startedAt = Date.now();
    await server.stop(context(10_000)); // resolves: no DrainTimeoutError
    expect(Date.now() - startedAt).toBeLessThan(2_000); // far below drainTimeout

    const all = await readUntil(reader, 'data: server closing\n\n', first);
    expect(all).toBe('event: hello\ndata: 1\n\nevent: bye\ndata: server closing\n\n');
    expect((await reader.read()).done).toBe(true); // the stream ended
  });

  it('aborts only when the listener closes, after drainDelay, with the shutdown reason', async () => {
    const { server, url } = await start({ drainDelay: 200 });
    const seen: { signal?: AbortSignal } = {};
    const response = await fetch(`${url}/events`);
    const reader = response.body!.getReader();
    await readUntil(reader, 'data: 1\n\n');
    seen.signal = closingSignal({ server: server.fastify } as FastifyRequest);
    expect(seen.signal.aborted).toBe(false);

    const startedAt = Date.now();
    const ctx = { ...context(10_000), reason: 'SIGTERM' };
    const stopped = server.stop(ctx);
    await new Promise((resolve) => seen.signal!.addEventListener('abort', resolve, { once: true }));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(195);
    expect(seen.signal.reason).toBe('SIGTERM');
    await stopped;
  });

  it('names the problem for a request that no quiesce server received', async () => {
    const plain = Fastify();
    cleanup.push(() => plain.close());
    plain.get('/', (request) => {
      try {
        closingSignal(request);
        return { thrown: false };
      } catch (error) {
        return { thrown: (error as Error).message };
      }
    });
    expect((await plain.inject('/')).json()).toEqual({ thrown: expect.stringMatching(/not received by a quiesce HttpModule server/) });
  });
});
