/**
 * Bare fastify 5 (+ close-with-grace, as its docs suggest): GET /json and GET /slow.
 * On SIGTERM: fastify.close(), then the resource is closed; close-with-grace's default 10 s delay.
 */
import closeWithGrace from 'close-with-grace';
import Fastify from 'fastify';
import { message, serveCpuProbe } from '../common.js';
import { PAYLOAD, Resource, slowWork } from './resource.js';

class Service {
  constructor(readonly resource: Resource) {}
  hello() {
    return PAYLOAD;
  }
  slow() {
    return slowWork(this.resource);
  }
}

const service = new Service(new Resource());
const app = Fastify({ logger: false });
// synchronous, like quiesce's controller method and NestJS's: the same handler shape everywhere
app.get('/json', function json() {
  return service.hello();
});
app.get('/slow', async () => service.slow());

closeWithGrace({ delay: 10_000, logger: false }, async ({ err }) => {
  if (err) console.error(err);
  await app.close();
  service.resource.close();
});

const url = await app.listen({ port: 0, host: '127.0.0.1' });
serveCpuProbe();
message({ type: 'ready', url });
