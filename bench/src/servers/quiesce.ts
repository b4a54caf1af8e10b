/**
 * quiesce: GET /json and GET /slow through a controller and a singleton service whose resource is
 * closed by @onDestroy (the request-scope routes are in stacks.ts, the same-process comparison).
 * Default bootstrap: SIGTERM/SIGINT handlers, exit after shutdown, 10 s global deadline.
 */
import 'reflect-metadata';
import { Controller, Get, HttpModule, Module, bootstrap, injectable, onDestroy } from '../quiesce-lib.js';
import { message, serveCpuProbe } from '../common.js';
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

@Module({
  imports: [HttpModule.forRoot({ port: 0, host: '127.0.0.1' })],
  providers: [Service],
  controllers: [BenchController],
})
class AppModule {}

const app = await bootstrap(AppModule, { logger: false, shutdownTimeout: 10_000 });
serveCpuProbe();
message({ type: 'ready', url: app.url });
