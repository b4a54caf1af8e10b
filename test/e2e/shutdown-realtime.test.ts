/**
 * WebSockets and server-sent events through a real SIGTERM to a real child process (CONTRACT §12):
 * a `ws` client sees close code 1001, an SSE client (undici fetch) receives the final event and its stream
 * ends, and the process exits 0 with an ok report.
 */
import { once } from 'node:events';
import { fetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { compileFixtures, reapAll, startReady, within, type Fixtures } from './support/child-app.js';

let fixtures: Fixtures;
const sockets: WebSocket[] = [];

beforeAll(() => {
  fixtures = compileFixtures();
});
afterAll(() => fixtures?.remove());
afterEach(() => {
  reapAll();
  for (const ws of sockets.splice(0)) ws.terminate();
});

async function openWebSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/echo`);
  sockets.push(ws);
  await within(once(ws, 'open'), 5_000, 'WebSocket open');
  const reply = once(ws, 'message');
  ws.send('hi');
  const [data] = (await within(reply, 5_000, 'echo')) as [Buffer];
  expect(data.toString()).toBe('echo hi');
  return ws;
}

async function readAll(body: ReadableStream<Uint8Array>, onFirst: () => void): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let first = true;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text;
    text += decoder.decode(value, { stream: true });
    if (first && text.includes('\n\n')) {
      first = false;
      onFirst();
    }
  }
}

describe('WebSockets and SSE on SIGTERM', () => {
  it('a ws client sees 1001, an SSE client gets the final event and the end of its stream, and the process exits 0', async () => {
    const { child, ready } = await startReady(fixtures, 'realtime-app', { shutdownTimeout: 10_000 });
    const url = String(ready.url);
    const ws = await openWebSocket(url);
    const wsClosed = once(ws, 'close') as Promise<[number, Buffer]>;

    const response = await fetch(`${url}/events`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    let gotFirst!: () => void;
    const firstEvent = new Promise<void>((resolve) => (gotFirst = resolve));
    const stream = readAll(response.body!, () => gotFirst());
    await within(firstEvent, 5_000, 'the first SSE event');

    child.kill('SIGTERM');
    const [code] = await within(wsClosed, 5_000, 'the WebSocket closes');
    expect(code).toBe(1001);
    const text = await within(stream, 5_000, 'the SSE stream ends');
    expect(text).toBe('event: hello\ndata: {}\n\nevent: bye\ndata: {"reason":"server closing"}\n\n');

    const exit = await child.waitExit(10_000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    const report = child.report();
    expect(report).toMatchObject({ reason: 'SIGTERM', ok: true });
    expect(report.steps[0]).toMatchObject({ kind: 'http', status: 'ok' });
  });

  it('a WebSocket client that ignores the close is cut at drainTimeout, and the report says so', async () => {
    const drainTimeout = 300;
    const { child, ready } = await startReady(fixtures, 'realtime-app', { drainTimeout, shutdownTimeout: 10_000 });
    const ws = await openWebSocket(String(ready.url));
    // A client that never reads again: it cannot answer the close frame.
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();

    child.kill('SIGTERM');
    const exit = await child.waitExit(10_000);
    expect(exit).toMatchObject({ code: 1, signal: null });
    const report = child.report();
    expect(report.steps[0]).toMatchObject({ kind: 'http', status: 'timeout' });
    expect(report.steps[0]!.error).toMatch(/1 WebSocket that did not close after the 1001 close frame/);
  });
});
