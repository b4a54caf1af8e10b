/**
 * closingSignal(request): how a long-lived response (server-sent events, a long poll, a streamed export)
 * learns that the server is closing, so that it can end cleanly instead of being cut at the drain deadline.
 *
 * The signal aborts when the listener closes (after `drainDelay`, at the same moment as WebSockets get their
 * 1001 close frame), with the shutdown reason. A stream that ends then finishes like any response: the drain
 * counts it as done, not as a timeout. One AbortSignal per server, looked up through the request's fastify
 * instance: nothing is added per request.
 *
 *   @Get('/events')
 *   events(request: FastifyRequest, reply: FastifyReply) {
 *     const closing = closingSignal(request);
 *     ...write events...; closing.addEventListener('abort', () => { write a final event; end the stream });
 *   }
 */
import type { FastifyRequest } from 'fastify';
import { InvalidProviderError } from '../errors.js';
import { kClosingSignal } from '../symbols.js';

export function closingSignal(request: FastifyRequest): AbortSignal {
  const signal = (request.server as unknown as Record<typeof kClosingSignal, AbortSignal | undefined> | undefined)?.[kClosingSignal];
  if (signal === undefined) {
    throw new InvalidProviderError('closingSignal(request): this request was not received by a quiesce HttpModule server.');
  }
  return signal;
}
