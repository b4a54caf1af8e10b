import type { Logger } from 'pino';
import { Module, type ModuleImport } from 'quiesce';
import { AmqpModule } from './amqp/amqp.module.js';
import { CONFIG, type Config } from './config.js';
import { DbModule } from './db/db.module.js';
import { WorkScopes } from './intake/work-scopes.js';
import { LOGGER } from './logger.js';
import { NatsModule } from './nats/nats.module.js';
import { OrdersModule } from './orders/orders.module.js';

/** The root module: which brokers are consumed depends on the environment (AMQP_URL, NATS_URL). */
export function createAppModule(config: Config, log: Logger) {
  const brokers: ModuleImport[] = [];
  if (config.amqpUrl !== undefined) brokers.push(AmqpModule);
  if (config.natsUrl !== undefined) brokers.push(NatsModule);

  @Module({
    imports: [DbModule, OrdersModule, ...brokers],
    providers: [
      { provide: CONFIG, useValue: config },
      { provide: LOGGER, useValue: log },
      WorkScopes,
    ],
  })
  class AppModule {}
  return AppModule;
}
