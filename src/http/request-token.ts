/**
 * REQUEST: the current HTTP request, for request-scoped providers (CONTRACT §12).
 *
 *   @injectable() class Audit { constructor(@inject(REQUEST) private req: FastifyRequest) {} }
 *   { provide: Audit, useClass: Audit, scope: 'request' }
 *
 * HttpModule.forRoot() provides it as a request-scoped provider whose value is the request the scope was
 * opened for. A singleton that would capture it (directly or through transients) is QUIESCE_SCOPE at
 * bootstrap, like any request-scoped provider; in a scope that has no request (app.createScope()) resolving
 * it throws QUIESCE_SCOPE naming REQUEST.
 */
import type { FastifyRequest } from 'fastify';
import { ScopeError } from '../errors.js';
import { token } from '../tokens.js';

export const REQUEST = token<FastifyRequest>('REQUEST');

/** The provider HttpModule.forRoot() adds: the factory runs only where no request seeds the scope. */
export const requestProvider = {
  provide: REQUEST,
  scope: 'request' as const,
  useFactory: (): never => {
    throw new ScopeError(
      'REQUEST is only available in the scope of an HTTP request; this scope has no request (it was opened by app.createScope()). ' +
        'Pass what the work needs from the request as data instead.',
    );
  },
};
