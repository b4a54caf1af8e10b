/**
 * The two HTTP stacks of the same-process comparison, built in one process:
 *  - bare fastify: GET /json with a synchronous handler that calls a service (`return service.hello()`);
 *  - quiesce: GET /json through a singleton controller and a singleton service (the controller method,
 *    synchronous, is the route's handler), and the request-scope routes: /json-req5 through a controller
 *    that depends on 5 request-scoped providers without hooks, /json-req5d through a controller that
 *    depends on 5 request-scoped Disposables (a no-op synchronous @onDestroy each). Both per-request
 *    controllers are created per request, as the request-scoped providers are.
 * Same handler shape on both sides: synchronous, returning the object for fastify to serialize.
 * Bare fastify is quiesce's own copy of fastify (the root node_modules), so both run the same code.
 */
import 'reflect-metadata';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { Controller, Get, HttpModule, Module, bootstrap, inject, injectable, onDestroy, type App } from '../quiesce-lib.js';
import { PAYLOAD } from './resource.js';

// bench/dist/servers/stacks.js → the repository root's node_modules/fastify (the one quiesce uses)
const requireFromRoot = createRequire(new URL('../../../package.json', import.meta.url));
const Fastify = requireFromRoot('fastify') as typeof import('fastify').default;

class BareService {
  hello() {
    return PAYLOAD;
  }
}

export async function bareFastify(listen: boolean): Promise<{ fastify: FastifyInstance; url?: string }> {
  const service = new BareService();
  const fastify = Fastify({ logger: false });
  fastify.get('/json', function json() {
    return service.hello();
  });
  if (!listen) {
    await fastify.ready();
    return { fastify };
  }
  return { fastify, url: await fastify.listen({ port: 0, host: '127.0.0.1' }) };
}

@injectable()
class Service {
  hello() {
    return PAYLOAD;
  }
}

@Controller('/')
class SingletonController {
  constructor(private readonly service: Service) {}
  @Get('/json')
  json() {
    return this.service.hello();
  }
}

/** A request-scoped provider without hooks. */
@injectable()
class Plain {
  hits = 0;
}
/** A request-scoped Disposable: a no-op synchronous destroy hook. */
@injectable()
class Disposable {
  hits = 0;
  @onDestroy()
  stop(): void {}
}

// five distinct tokens of each kind: five instances per request
const plain = [0, 1, 2, 3, 4].map((i) => ({ provide: `plain${i}`, useClass: Plain, scope: 'request' as const }));
const disposable = [0, 1, 2, 3, 4].map((i) => ({ provide: `disposable${i}`, useClass: Disposable, scope: 'request' as const }));

@Controller('/')
class FivePlainController {
  constructor(
    readonly service: Service,
    @inject('plain0') readonly a: Plain,
    @inject('plain1') readonly b: Plain,
    @inject('plain2') readonly c: Plain,
    @inject('plain3') readonly d: Plain,
    @inject('plain4') readonly e: Plain,
  ) {}
  @Get('/json-req5')
  json() {
    this.a.hits++, this.b.hits++, this.c.hits++, this.d.hits++, this.e.hits++;
    return this.service.hello();
  }
}

@Controller('/')
class FiveDisposablesController {
  constructor(
    readonly service: Service,
    @inject('disposable0') readonly a: Disposable,
    @inject('disposable1') readonly b: Disposable,
    @inject('disposable2') readonly c: Disposable,
    @inject('disposable3') readonly d: Disposable,
    @inject('disposable4') readonly e: Disposable,
  ) {}
  @Get('/json-req5d')
  json() {
    this.a.hits++, this.b.hits++, this.c.hits++, this.d.hits++, this.e.hits++;
    return this.service.hello();
  }
}

export function quiesceApp(listen: boolean): Promise<App> {
  @Module({
    imports: [HttpModule.forRoot({ port: 0, host: '127.0.0.1', listen })],
    providers: [Service, ...plain, ...disposable],
    controllers: [SingletonController, FivePlainController, FiveDisposablesController],
  })
  class AppModule {}
  return bootstrap(AppModule, { logger: false, signals: false, shutdownTimeout: 10_000 });
}
