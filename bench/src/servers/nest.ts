/**
 * NestJS 12 on fastify: GET /json and GET /slow, enableShutdownHooks(), the resource closed in
 * onModuleDestroy as NestJS's docs suggest.
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import { message, serveCpuProbe } from '../common.js';
import { PAYLOAD, Resource, slowWork } from './resource.js';

@Injectable()
class Service implements OnModuleDestroy {
  readonly resource = new Resource();
  hello() {
    return PAYLOAD;
  }
  slow() {
    return slowWork(this.resource);
  }
  onModuleDestroy() {
    this.resource.close();
  }
}

@Controller()
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

@Module({ providers: [Service], controllers: [BenchController] })
class AppModule {}

const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { logger: false });
app.enableShutdownHooks();
await app.listen(0, '127.0.0.1');
const addr = app.getHttpServer().address() as AddressInfo;
serveCpuProbe();
message({ type: 'ready', url: `http://127.0.0.1:${addr.port}` });
