/**
 * HttpModule.forRoot(options): importing it gives the app a fastify server that listens once
 * startup is done and is the first thing shutdown stops. The options travel as a provider,
 * so they are a node of the graph like everything else.
 */
import { Module, type DynamicModule } from '../container/module-decorator.js';
import { token } from '../tokens.js';
import { requestProvider } from './request-token.js';
import type { HttpModuleOptions } from './server.js';

export const HTTP_OPTIONS = token<HttpModuleOptions>('HttpModuleOptions');

@Module({})
export class HttpModule {
  static forRoot(options: HttpModuleOptions = {}): DynamicModule {
    return { module: HttpModule, providers: [{ provide: HTTP_OPTIONS, useValue: options }, requestProvider] };
  }
}
