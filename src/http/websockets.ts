/**
 * WebSockets in the drain. A WebSocket is a long-lived connection that fastify.close() can only wait for:
 * @fastify/websocket's own preClose closes its clients without a status code (1005), so a client cannot
 * tell "server going away" from anything else. When the listener closes, the drain sends every open
 * WebSocket a close frame 1001 (going away) first; the step then waits, within the drain budget, for
 * the closing handshakes; whatever is still open at the drain deadline is cut with the other sockets.
 *
 * Which WebSocket servers: the `websocketServer` decoration of every context that registers a websocket
 * route (an `onRoute` hook, nothing per request), plus the root's. Any `ws`-compatible server works: an
 * object with `clients: Set<{ readyState, close(code, reason) }>`.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';

interface WebSocketLike {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  once(event: 'close', listener: () => void): unknown;
}

interface WebSocketServerLike {
  clients: Set<WebSocketLike>;
}

/** ws readyState values */
const OPEN = 1;
const CLOSED = 3;
export const GOING_AWAY = 1001;

export class WebSockets {
  private readonly servers = new Set<WebSocketServerLike>();

  /** An onRoute hook (call it with the route's instance as `this`). */
  readonly onRoute = (instance: FastifyInstance, route: RouteOptions): void => {
    const options = route as RouteOptions & { websocket?: boolean; wsHandler?: unknown };
    if (options.websocket === true || options.wsHandler !== undefined) this.add(instance);
  };

  /** Remembers the WebSocket server decorated on `instance`, if any. */
  add(instance: FastifyInstance): void {
    const server = (instance as unknown as { websocketServer?: unknown }).websocketServer;
    if (isWebSocketServer(server)) this.servers.add(server);
  }

  /** WebSockets not yet closed (open or closing). */
  get open(): number {
    let count = 0;
    for (const client of this.clients()) if (client.readyState !== CLOSED) count++;
    return count;
  }

  /** Sends every open WebSocket a close frame 1001; returns how many. */
  goingAway(): number {
    let count = 0;
    for (const client of this.clients()) {
      if (client.readyState !== OPEN) continue;
      client.close(GOING_AWAY, 'server shutting down');
      count++;
    }
    return count;
  }

  /** Resolves once every WebSocket is closed. */
  whenClosed(): Promise<void> {
    const pending = [...this.clients()].filter((client) => client.readyState !== CLOSED);
    return Promise.all(pending.map((client) => new Promise<void>((resolve) => client.once('close', resolve)))).then(() => undefined);
  }

  private *clients(): Iterable<WebSocketLike> {
    for (const server of this.servers) yield* server.clients;
  }
}

function isWebSocketServer(value: unknown): value is WebSocketServerLike {
  return typeof value === 'object' && value !== null && (value as { clients?: unknown }).clients instanceof Set;
}
