/**
 * What fastify's close() lacks for a clean HTTP/1.1 drain.
 *
 * fastify.close() stops listening, closes idle sockets, and answers requests that arrive on open
 * connections with 503 + `Connection: close`. It does not touch responses already in flight: those go
 * out with `Connection: keep-alive`, and close() then waits for the 72 s keepAliveTimeout (fastify
 * issue 7044). And a TCP connection that never sends a request keeps close() pending forever (Node 20
 * stops enforcing headersTimeout after close). This file adds:
 *  - begin(): every response still to be written, in flight or yet to arrive, carries `Connection: close`,
 *    so Node ends each socket once its response is out;
 *  - closeListener(): close the listening socket when the kernel is very unlikely to hold a connection
 *    node has not accepted (closing resets those, after a proxy may have sent its request);
 *  - forceClose(): at the drain deadline, destroy every remaining socket.
 *
 * Cost before begin(): one Set entry and one 'close' listener per TCP connection, nothing per request.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { HookTimeoutError } from '../errors.js';

/** Node sets `socket._httpMessage` to the response being written on an HTTP/1 socket (null between requests). */
interface HttpSocket extends Socket {
  _httpMessage?: ServerResponse | null;
}

/** A turn of the event loop this short (an idle turn takes 4-10 µs) leaves next to no time for the kernel to queue a connection. */
const QUIET_TURN_MS = 0.02;
/** How long to look for such a turn before any turn that accepted nothing will do. */
const PATIENCE_MS = 50;
/** Under a flood that never lets a turn pass without an accept: close anyway. */
const MAX_WAIT_MS = 250;

/** How the listener closed, for the drain's log line. */
export interface ListenerClosed {
  waitedMs: number;
  turns: number;
  /** Duration of the turn the close followed: the window in which the kernel could still queue a connection. */
  lastTurnUs: number;
  /** False if it settled for a longer turn (busy loop) or closed at MAX_WAIT_MS. */
  quietTurn: boolean;
}

export class ConnectionDrain {
  private readonly sockets = new Set<HttpSocket>();
  private listenerClosed = false;
  /** Connections accepted so far: closeListener() watches it move. */
  private accepted = 0;

  constructor(private readonly server: Server) {
    const sockets = this.sockets;
    function untrack(this: HttpSocket): void {
      sockets.delete(this);
    }
    const track = (socket: HttpSocket): void => {
      this.accepted++;
      sockets.add(socket);
      socket.on('close', untrack);
    };
    server.on('connection', track);
    // Over TLS the HTTP parser works on the TLS socket, not on the TCP socket 'connection' reports.
    if (server instanceof TlsServer) server.on('secureConnection', track);
  }

  /** Open TCP (and TLS) connections. */
  get connections(): number {
    return this.sockets.size;
  }

  /** From now on every HTTP/1 response carries `Connection: close`: the ones in flight and every later one. */
  begin(): void {
    this.server.prependListener('request', closeAfterResponse);
    for (const socket of this.sockets) {
      const response = socket._httpMessage;
      if (!response) continue;
      if (!response.headersSent) {
        response.setHeader('Connection', 'close');
      } else if (!response.writableEnded) {
        // Its headers already promised keep-alive: close the socket once the response is done.
        response.once('close', () => this.closeIdle());
      }
    }
  }

  /**
   * Closes the listener right after a short turn of the event loop whose poll phase accepted nothing, so
   * that the kernel is very unlikely to hold a connection Node has not accepted.
   *
   * Why: closing a listening socket makes the kernel reset every connection it has completed but Node has
   * not accepted yet, and a proxy may already have sent a request on such a connection: nginx does not
   * retry a POST that was sent (a 502 the client sees). Connections Node has accepted are served
   * (CONTRACT §12). A connection can only be caught between the poll phase's last accept and the close,
   * so the close happens synchronously in the check phase of a turn that accepted nothing and lasted at
   * most QUIET_TURN_MS (the window is shorter than the turn). Under load, where no turn is that short,
   * it settles for any turn that accepted nothing after PATIENCE_MS, and closes anyway after
   * MAX_WAIT_MS. Only a balancer that is told (readiness) closes the window entirely.
   */
  closeListener(patient = true): Promise<ListenerClosed> {
    return new Promise<ListenerClosed>((resolve) => {
      const startedAt = performance.now();
      let turnStartedAt = startedAt;
      let before = this.accepted;
      let turns = 0;
      const check = (): void => {
        const now = performance.now();
        const turnMs = now - turnStartedAt;
        const waitedMs = now - startedAt;
        const quietTurn = this.accepted === before && turnMs <= QUIET_TURN_MS;
        const settle = this.accepted === before && waitedMs >= PATIENCE_MS;
        turns++;
        if (!patient || quietTurn || settle || waitedMs >= MAX_WAIT_MS) {
          this.stopListening();
          resolve({ waitedMs: round(waitedMs), turns, lastTurnUs: Math.round(turnMs * 1000), quietTurn });
          return;
        }
        before = this.accepted;
        turnStartedAt = now;
        setImmediate(check);
      };
      setImmediate(check);
    });
  }

  private stopListening(): void {
    this.listenerClosed = true;
    if (!this.server.listening) return;
    // net's close first (the listening socket goes at once); http.Server.close() would first walk every
    // connection to close the idle ones, which widens the window. fastify.close() calls it again later:
    // Node then reports ERR_SERVER_NOT_RUNNING once the connections are gone, which fastify expects.
    NetServer.prototype.close.call(this.server);
    this.server.closeIdleConnections();
  }

  /** Destroys every remaining connection, including ones that never sent a request. Returns how many were open. */
  forceClose(): number {
    const open = this.sockets.size;
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    if (this.server.listening) this.server.close(ignore);
    return open;
  }

  private closeIdle(): void {
    if (this.listenerClosed) this.server.closeIdleConnections();
  }
}

function closeAfterResponse(request: IncomingMessage, response: ServerResponse): void {
  // HTTP/2 has no Connection header (GOAWAY does this job); HTTP/1.0 closes by default anyway.
  if (request.httpVersionMajor === 1) response.setHeader('Connection', 'close');
}

function ignore(): void {}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** What the drain had to cut, for its error and its log line. */
export interface DrainCut {
  /** Connections destroyed at the drain deadline (WebSockets included). */
  connections: number;
  /** Of those, WebSockets that had not completed their closing handshake. */
  websockets: number;
  /** Request scopes not yet released at the drain deadline. */
  requestScopes: number;
  /** Route handlers still running when the shutdown deadline came. */
  requests: number;
  /** Which routes those handlers belong to, e.g. 'GET /slow: 2'. */
  routes: string;
}

/**
 * The HTTP step's timeout: a HookTimeoutError (so the step is reported `timeout`) whose message says what was
 * cut: connections past the drain budget, WebSockets that ignored their close frame, requests still running
 * at the shutdown deadline.
 */
export class DrainTimeoutError extends HookTimeoutError {
  constructor(
    timeoutMs: number,
    readonly cut: DrainCut,
  ) {
    super('http drain', timeoutMs);
    const parts: string[] = [];
    if (cut.connections > 0) {
      const websockets = cut.websockets > 0 ? ` (${plural(cut.websockets, 'WebSocket')} that did not close after the 1001 close frame)` : '';
      parts.push(`${plural(cut.connections, 'connection')} destroyed at the drain deadline${websockets}`);
    }
    if (cut.requestScopes > 0) parts.push(`${plural(cut.requestScopes, 'request scope')} not yet released at the drain deadline`);
    if (cut.requests > 0) {
      parts.push(`${plural(cut.requests, 'request')} still running at the shutdown deadline (${cut.routes})`);
    }
    this.message =
      `http drain did not finish within ${timeoutMs} ms: ${parts.join('; ') || 'cut at the deadline'}. ` +
      'Raise drainTimeout or shutdownTimeout, or end long-lived responses on closingSignal(request).';
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
