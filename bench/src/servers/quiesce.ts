/**
 * quiesce: GET /json and GET /slow through a controller and a singleton service whose resource is
 * closed by @onDestroy; with `--req`, also GET /json-req: the same route through a controller that
 * depends on a request-scoped provider (so the controller is created per request too).
 * Default bootstrap: SIGTERM/SIGINT handlers, exit after shutdown, 10 s global deadline.
 */
import 'reflect-metadata';
import { Controller, Get, HttpModule, Module, bootstrap, injectable, onDestroy } from '../quiesce-lib.js';
import { args, message, serveCpuProbe } from '../common.js';
import { PAYLOAD, Resource, slowWork } from './resource.js';

@injectable()
class Service {
  readonly resource = new Resource();
  hello() {
    return PAYLOAD;
  }
  slow() {
    return slowWork(this.resource);
  }
  @onDestroy()
  stop() {
    this.resource.close();
  }
}

@Controller('/')
class BenchController {
  constructor(private readonly service: Service) {}
  @Get('/json')
  json() {
    return this.service.hello();
  }
  @Get('/slow')
  slow() {
    return this.service.slow();
  }
}

/** One per request. */
@injectable()
class RequestContext {
  hits = 0;
  constructor(readonly service: Service) {}
}

@Controller('/')
class RequestScopedController {
  constructor(private readonly ctx: RequestContext) {}
  @Get('/json-req')
  json() {
    this.ctx.hits++;
    return this.ctx.service.hello();
  }
}

const withReq = args().req === 'true';

@Module({
  imports: [HttpModule.forRoot({ port: 0, host: '127.0.0.1' })],
  providers: [Service, ...(withReq ? [{ provide: RequestContext, useClass: RequestContext, scope: 'request' as const }] : [])],
  controllers: [BenchController, ...(withReq ? [RequestScopedController] : [])],
})
class AppModule {}

const app = await bootstrap(AppModule, { logger: false, shutdownTimeout: 10_000 });
serveCpuProbe();
message({ type: 'ready', url: app.url });
