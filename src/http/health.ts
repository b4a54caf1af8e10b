/**
 * The health endpoints: liveness (200 while the process serves) and readiness (200 only while the app is
 * ready, 503 from the first moment of shutdown).
 *
 * Without `healthPort` they are two routes of the main fastify instance, so they close with its listener.
 * With `healthPort` they live on a listener of their own (plain node:http, same host), which stays open
 * through the whole shutdown so that probes never see "connection refused" while the main listener drains:
 * readiness answers 503 there for the whole shutdown, liveness 200. It closes with closeHealth(), which the
 * app calls once shutdown has finished.
 */
import type { FastifyInstance } from 'fastify';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export interface HealthPaths {
  readiness: string;
  liveness: string;
}

const okBody = Object.freeze({ status: 'ok' });
const unavailableBody = Object.freeze({ status: 'unavailable' });
const okJson = JSON.stringify(okBody);
const unavailableJson = JSON.stringify(unavailableBody);

/** The two routes on the main fastify instance (no healthPort). */
export function addHealthRoutes(fastify: FastifyInstance, paths: HealthPaths, isReady: () => boolean): void {
  // Health probes are frequent: keep their access-log lines out of the info level.
  const probe = { logLevel: 'warn' } as const;
  fastify.get(paths.liveness, probe, () => okBody);
  fastify.get(paths.readiness, probe, (_request, reply) => {
    if (isReady()) return okBody;
    void reply.code(503);
    return unavailableBody;
  });
}

/** The health endpoints on their own port. */
export class HealthListener {
  private readonly server: Server;
  private closing: Promise<void> | undefined;
  private address: string | undefined;

  constructor(
    private readonly paths: HealthPaths,
    private readonly isReady: () => boolean,
    private readonly logger: Logger,
  ) {
    this.server = createServer((request, response) => this.answer(request, response));
  }

  /** http://host:port once listening. */
  get url(): string | undefined {
    return this.address;
  }

  async listen(port: number, host: string): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.removeListener('error', onError);
        resolve();
      });
    });
    const { address, port: actual, family } = this.server.address() as AddressInfo;
    this.address = `http://${family === 'IPv6' ? `[${address}]` : address}:${actual}`;
    this.logger.info({ url: this.address }, 'health endpoints listening');
    return this.address;
  }

  /** Stops listening and closes every connection, idle or not. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?', 1)[0];
    const method = request.method;
    let status: number;
    let body: string;
    if ((method !== 'GET' && method !== 'HEAD') || (path !== this.paths.liveness && path !== this.paths.readiness)) {
      status = 404;
      body = JSON.stringify({ error: 'Not Found', statusCode: 404 });
    } else if (path === this.paths.liveness || this.isReady()) {
      status = 200;
      body = okJson;
    } else {
      status = 503;
      body = unavailableJson;
    }
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(method === 'HEAD' ? undefined : body);
  }
}
