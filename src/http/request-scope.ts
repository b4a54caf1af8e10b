/**
 * Request scope: one InstanceScope per HTTP request for controllers that need request-scoped
 * providers. Its instances are destroyed when the response is done, with the same scheduler,
 * order and timeouts as app shutdown; failures are logged and never reach the client or crash the server.
 */
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Container } from '../container/container.js';
import type { ProviderNode } from '../container/graph.js';
import { InstanceScope } from '../container/instance.js';
import { Deadline } from '../lifecycle/deadline.js';
import { destroyTasks } from '../lifecycle/destroy-plan.js';
import { runShutdown } from '../lifecycle/shutdown.js';
import type { ControllerSource } from './server.js';

export interface RequestScopeSettings {
  container: Container;
  logger: Logger;
  /** Budget for destroying one request's instances. */
  timeoutMs: number;
  concurrency: 'graph' | 'sequential';
}

export function controllerSources(settings: RequestScopeSettings): ControllerSource[] {
  const { container } = settings;
  return container.graph.controllers.map((node) =>
    node.scope === 'request'
      ? { controller: node.def.useClass!, perRequest: (request: FastifyRequest) => createForRequest(node, request, settings) }
      : { controller: node.def.useClass!, instance: container.get(node.def.token) as object },
  );
}

async function createForRequest(
  node: ProviderNode,
  request: FastifyRequest,
  settings: RequestScopeSettings,
): Promise<{ instance: object; release: () => Promise<void> }> {
  const scope = new InstanceScope('request');
  const release = (): Promise<void> => destroyRequestScope(scope, request, settings);
  try {
    const instance = (await settings.container.resolveInRequest(node, scope)) as object;
    return { instance, release };
  } catch (error) {
    await release(); // what was created before the failure is still destroyed
    throw error;
  }
}

async function destroyRequestScope(scope: InstanceScope, request: FastifyRequest, settings: RequestScopeSettings): Promise<void> {
  if (scope.disposables.length === 0) return;
  const report = await runShutdown(destroyTasks(scope.disposables), {
    reason: 'request-end',
    deadline: new Deadline(settings.timeoutMs),
    concurrency: settings.concurrency,
  });
  if (!report.ok) {
    const failed = report.steps.filter((step) => step.status !== 'ok');
    settings.logger.error({ reqId: request.id, steps: failed }, 'request-scoped instances did not all destroy cleanly');
  }
}
