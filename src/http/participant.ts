/**
 * The HTTP server as one participant of the start and stop phases (app/phases.ts): it starts after
 * every @onStart (setup, routes, listen), its stop step is the drain, run as a dependent of whatever
 * its controllers use, and close() shuts the health listener once everything else is done.
 * It knows the HttpServer only by its outside shape (PLAN.md interface 2).
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Participant, ParticipantHost } from '../app/phases.js';
import type { Container } from '../container/container.js';
import type { ProviderNode } from '../container/graph.js';
import type { HookContext } from '../types.js';
import { controllerSources } from './request-scope.js';
import { HttpServer, type HttpModuleOptions } from './server.js';

export interface HttpParticipantSettings {
  /** Step id and graph node id, unique among the graph's ids. */
  id: string;
  options: HttpModuleOptions;
  container: Container;
  logger: Logger;
}

export class HttpParticipant implements Participant {
  readonly id: string;
  readonly name = 'http';
  readonly kind = 'http' as const;
  readonly uses: readonly ProviderNode[];
  private server?: HttpServer;

  constructor(private readonly settings: HttpParticipantSettings) {
    this.id = settings.id;
    this.uses = settings.container.graph.controllers;
  }

  /** The listening URL once started (undefined without listening). */
  get url(): string | undefined {
    return this.server?.url;
  }

  get fastify(): FastifyInstance | undefined {
    return this.server?.fastify;
  }

  async start(ctx: HookContext, host: ParticipantHost): Promise<void> {
    const { options, container, logger } = this.settings;
    const server = new HttpServer({ options, logger, isReady: host.isReady, app: host.app });
    server.addControllers(controllerSources(container));
    this.server = server; // before start: a start that fails half-way is still stopped by the rollback
    await server.start(ctx);
  }

  stop(ctx: HookContext): Promise<void> {
    return this.server ? this.server.stop(ctx) : Promise.resolve();
  }

  describePending(): string | undefined {
    return this.server?.describePending();
  }

  /** The health listener (healthPort) stays open until here: readiness 503 for the whole shutdown. */
  close(): Promise<void> {
    return this.server ? this.server.closeHealth() : Promise.resolve();
  }
}
