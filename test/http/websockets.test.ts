/**
 * WebSockets in the drain (CONTRACT §12): with @fastify/websocket registered in setup, every open WebSocket
 * gets a close frame 1001 (going away) when the listener closes; the step is ok once they closed within the
 * drain budget; one that ignores the close is cut at the drain deadline and reported. Real `ws` clients and
 * a raw TCP client that never answers the close.
 */
import 'reflect-metadata';
import websocket from '@fastify/websocket';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DrainTimeoutError } from '../../src/http/drain.js';
import type { HttpModuleOptions, HttpServer } from '../../src/http/server.js';
import { context, httpServer } from './support.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanup.splice(0).map((fn) => fn()));
});

async function start(options: HttpModuleOptions = {}): Promise<{ server: HttpServer; url: string; port: number }> {
  const server = httpServer({
    port: 0,
    ...options,
    setup: async (fastify) => {
      await fastify.register(websocket);
      fastify.get('/echo', { websocket: true }, (socket) => {
        socket.on('message', (data: Buffer) => socket.send(`echo ${data.toString()}`));
      });
    },
  });
  await server.start(context(10_000));
  cleanup.push(() => server.fastify.close());
  const url = server.url!;
  return { server, url, port: Number(new URL(url).port) };
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/echo`);
  cleanup.push(async () => ws.terminate());
  await once(ws, 'open');
  return ws;
}

async function echo(ws: WebSocket, text: string): Promise<string> {
  const reply = once(ws, 'message');
  ws.send(text);
  const [data] = (await reply) as [Buffer];
  return data.toString();
}

describe('WebSockets at shutdown', () => {
  it('sends every open WebSocket a close frame 1001 when the listener closes, and the step is ok once they closed', async () => {
    const { server, url } = await start();
    const clients = await Promise.all([open(url), open(url)]);
    expect(await echo(clients[0], 'hi')).toBe('echo hi');
    const closes = clients.map((ws) => once(ws, 'close') as Promise<[number, Buffer]>);

    await server.stop(context(10_000));
    for (const close of closes) {
      const [code, reason] = await close;
      expect(code).toBe(1001);
      expect(reason.toString()).toBe('server shutting down');
    }
  });

  it('keeps WebSockets open and working during drainDelay, and closes them with 1001 after it', async () => {
    const { server, url } = await start({ drainDelay: 300 });
    const ws = await open(url);
    let closedAt = 0;
    const closed = once(ws, 'close').then(([code]) => {
      closedAt = Date.now();
      return code as number;
    });
    const startedAt = Date.now();
    const stopped = server.stop(context(10_000));
    expect(await echo(ws, 'still here')).toBe('echo still here');
    expect(await closed).toBe(1001);
    expect(closedAt - startedAt).toBeGreaterThanOrEqual(295);
    await stopped;
  });

  it('cuts a WebSocket that ignores the close frame at the drain deadline and reports it', async () => {
    const { server, port } = await start({ drainTimeout: 200 });
    // A raw client: completes the handshake, then never answers anything.
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    cleanup.push(async () => socket.destroy());
    await once(socket, 'connect');
    let received = Buffer.alloc(0);
    const upgraded = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.includes('\r\n\r\n')) resolve();
      });
    });
    socket.write(
      'GET /echo HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await upgraded;
    expect(received.toString()).toMatch(/^HTTP\/1\.1 101 /);
    const handshakeLength = received.indexOf('\r\n\r\n') + 4;
    const closed = once(socket, 'close');

    const startedAt = Date.now();
    const error = await server.stop(context(10_000)).catch((e: unknown) => e);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(195);
    expect(error).toBeInstanceOf(DrainTimeoutError);
    expect(error).toMatchObject({ hook: 'http drain', timeoutMs: 200, cut: { connections: 1, websockets: 1 } });
    expect((error as Error).message).toMatch(/1 WebSocket that did not close after the 1001 close frame/);
    await closed;
    // the close frame it was sent: FIN + opcode 8, then the status code 1001 (0x03e9)
    const frame = received.subarray(handshakeLength);
    expect(frame[0]).toBe(0x88);
    expect(frame.readUInt16BE(2)).toBe(1001);
  });
});
