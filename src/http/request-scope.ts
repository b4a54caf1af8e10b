/**
 * The request scope: a controller that needs request-scoped providers gets, per HTTP request, a work
 * scope (container/scopes.ts) seeded with the request (REQUEST). Its instances are destroyed when the
 * response is done, with the same scheduler, order and timeouts as app shutdown; synchronous destroy
 * hooks run at once, inside release(). Failures are logged by the scope and never reach the client.
 */
import type { FastifyRequest } from 'fastify';
import type { Container } from '../container/container.js';
import type { ProviderNode } from '../container/graph.js';
import type { UnitOfWork } from '../container/scopes.js';
import { REQUEST } from './request-token.js';
import type { ScopedInstance } from './route-handlers.js';
import type { ControllerSource } from './server.js';

export function controllerSources(container: Container): ControllerSource[] {
  return container.graph.controllers.map((node) =>
    node.scope === 'request'
      ? { controller: node.def.useClass!, perRequest: (request: FastifyRequest) => createForRequest(node, request, container) }
      : { controller: node.def.useClass!, instance: container.get(node.def.token) as object },
  );
}

function createForRequest(node: ProviderNode, request: FastifyRequest, container: Container): ScopedInstance | Promise<ScopedInstance> {
  const scope = container.openScope({ values: new Map<unknown, unknown>().set(REQUEST, request) }) as UnitOfWork;
  const release = (): Promise<unknown> => scope.close('request-end');
  let created;
  try {
    created = scope.resolveNode(node);
  } catch (error) {
    return failed(release, error);
  }
  if (!(created instanceof Promise)) return { instance: created.v as object, release };
  return created.then(
    (box) => ({ instance: box.v as object, release }),
    (error: unknown) => failed(release, error),
  );
}

/** What was created before the failure is still destroyed; then the request fails with the error. */
async function failed(release: () => Promise<unknown>, error: unknown): Promise<never> {
  await release();
  throw error;
}
